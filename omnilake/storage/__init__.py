"""Where the lake's files live: a local disk or object storage (see ``filesystem``), and the lease
lock that makes one writer per lake hold across machines (``lease``)."""
