"""Reading less of a growing Delta table: which data files can hold some key, from the value
ranges Delta's log keeps per file (``ranges``)."""
