"""The landing zone: find delivered files, fingerprint them, and stage their records for Spark.

Spark cannot do three things ingestion needs, so they happen here, once per file, streaming:
it cannot tell which file a row came from on Sail (no ``input_file_name()``), it has no
corrupt-record mode, and it cannot tell a file in the wrong encoding or a truncated gzip from a
good one. Each new file is therefore hashed, decoded strictly, split into records with their line
numbers, and written as one Parquet "staging" file that Spark then parses and classifies.

Layout: ``landing/<source>/<yyyy-mm-dd>/<file>`` (``.gz`` allowed). Dot- and underscore-prefixed
names are ignored.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import difflib
import gzip
import logging
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import IO

import pyarrow as pa
import pyarrow.parquet as pq

from omnilake.contracts import Contract
from omnilake.errors import LandingError, StorageError
from omnilake.storage.filesystem import LocalFileSystem, filesystem_for

log = logging.getLogger(__name__)

STAGED_SCHEMA = pa.schema(
    [
        ("_source_file", pa.string()),
        ("_file_hash", pa.string()),
        ("_landing_date", pa.string()),
        ("_line", pa.int64()),
        ("_raw", pa.string()),
        ("_fields", pa.map_(pa.string(), pa.string())),
        ("_stage_error", pa.string()),
    ]
)
_ROW_GROUP = 50_000
_HASH_CHUNK = 1 << 20
_OTHER_DELIMITERS = (";", "\t", "|", ",")
CSV_FIELD_LIMIT = 64 << 20  # bytes; a longer CSV field is quarantined as malformed_csv
UNCLOSED_QUOTE = "; a quote opened on this line is never closed"


@dataclass(frozen=True)
class LandingFile:
    source: str
    landing_date: date
    path: str  # a local path or an s3:// URI
    relative_path: str
    size_bytes: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", str(self.path))  # a pathlib.Path is accepted too

    def sha256(self) -> str:
        return filesystem_for(self.path).sha256(self.path)

    @contextlib.contextmanager
    def open_binary(self) -> Iterator[IO[bytes]]:
        """The file's bytes as delivered, decompressed if it is ``.gz``, streamed from its storage."""
        with filesystem_for(self.path).open_read(self.path) as raw:
            if self.path.endswith(".gz"):
                with gzip.GzipFile(fileobj=raw, mode="rb") as unzipped:
                    yield unzipped
            else:
                yield raw


@dataclass
class DriftNote:
    kind: str  # unknown_field | missing_column | renamed_column
    column: str
    detail: str


@dataclass
class StagedFile:
    """What staging learnt about one file. ``file_error`` set means the whole file is refused."""

    file: LandingFile
    file_hash: str
    records: int = 0
    blank_lines: int = 0
    file_error: str | None = None
    file_error_detail: str | None = None
    drift: list[DriftNote] = field(default_factory=list)


def require_landing(landing_root: str | Path) -> None:
    """Refuse a missing landing folder, naming the file that stands in its way if that is why."""
    fs = filesystem_for(landing_root)
    if fs.is_dir(str(landing_root)):
        return
    if isinstance(fs, LocalFileSystem):
        local = Path(landing_root)
        blocking = next((p for p in (local, *local.parents) if p.exists() and not p.is_dir()), None)
        if blocking is not None:
            raise LandingError(
                f"cannot read the landing folder {landing_root}: {blocking} is a file, not a folder; check OMNILAKE_HOME"
            )
    raise LandingError(f"no landing folder at {landing_root}: run `omnilake generate` or deliver files there")


def discover(landing_root: str | Path, source: str, landing_date: date | None = None) -> list[LandingFile]:
    """Every delivered file of ``source`` (optionally of one date), in a stable order; the landing
    root is a local folder or an object-store prefix."""
    require_landing(landing_root)
    root = str(landing_root).rstrip("/")
    fs = filesystem_for(root)
    lake_root = root.rsplit("/", 1)[0] if "://" in root else str(Path(root).parent)
    day_dirs, _ = fs.list_dir(fs.join(root, source))
    files = []
    for day_dir in day_dirs:
        name = day_dir.rstrip("/").rsplit("/", 1)[-1]
        try:
            day = date.fromisoformat(name)
        except ValueError:
            log.warning("ignoring %s: landing folders are named yyyy-mm-dd", day_dir)
            continue
        if landing_date and day != landing_date:
            continue
        _, delivered = fs.list_dir(day_dir)
        for info in delivered:
            if not info.name.startswith((".", "_")):
                files.append(
                    LandingFile(
                        source=source,
                        landing_date=day,
                        path=info.path,
                        relative_path=info.path[len(lake_root) :].lstrip("/"),
                        size_bytes=info.size,
                    )
                )
    return files


def landing_dates(landing_root: str | Path) -> list[str]:
    """Every delivery date (``yyyy-mm-dd`` folder name) under any source of the landing zone, sorted."""
    fs = filesystem_for(landing_root)
    sources, _ = fs.list_dir(str(landing_root))
    days = set()
    for source in sources:
        if source.rstrip("/").rsplit("/", 1)[-1].startswith("_"):
            continue
        days.update(d.rstrip("/").rsplit("/", 1)[-1] for d in fs.list_dir(source)[0])
    return sorted(days)


# --- reading text strictly -----------------------------------------------------------------------


class FileRefused(Exception):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def _lines(landing: LandingFile) -> Iterator[tuple[int, str]]:
    """(1-based line number, text without line ending), decoding UTF-8 strictly; a BOM is dropped."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")(errors="strict")
    line_number = 0
    offset = 0
    try:
        with landing.open_binary() as handle:
            pending = ""
            while chunk := handle.read(_HASH_CHUNK):
                try:
                    text = pending + decoder.decode(chunk)
                except UnicodeDecodeError as exc:
                    line = line_number + 1 + exc.object[: exc.start].count(b"\n")
                    raise FileRefused(
                        "bad_encoding",
                        f"not valid UTF-8 at line {line}, near byte {offset + exc.start} ({exc.reason}); "
                        f"{_encoding_guess(exc.object, exc.start)}: re-export the file as UTF-8",
                    ) from None
                offset += len(chunk)
                parts = text.split("\n")
                pending = parts.pop()
                for part in parts:
                    line_number += 1
                    yield line_number, part.removesuffix("\r")
            try:
                pending += decoder.decode(b"", final=True)
            except UnicodeDecodeError as exc:
                raise FileRefused(
                    "bad_encoding", f"file ends inside a UTF-8 character ({exc.reason})"
                ) from None
            if pending:
                line_number += 1
                yield line_number, pending.removesuffix("\r")
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise FileRefused(
            "truncated_compression",
            f"the gzip stream is damaged or cut short ({exc}); deliver the file again",
        ) from None
    except OSError as exc:
        raise FileRefused("unreadable", f"cannot read the file: {exc}") from None


def _encoding_guess(data: bytes, position: int) -> str:
    """A hint at what the bytes around an undecodable position really are (for the refusal detail)."""
    if data[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        return "the file is UTF-16 (Excel's 'Unicode text' export)"
    start = data.rfind(b"\n", 0, position) + 1
    end = data.find(b"\n", position)
    line = data[start : end if end >= 0 else len(data)]
    try:
        text = line.decode("gb18030")
    except UnicodeDecodeError:
        pass
    else:
        if sum("\u4e00" <= ch <= "\u9fff" for ch in text) >= 2:
            return "the bytes look like GBK/GB18030 (Chinese)"
    try:
        line.decode("cp1252")
    except UnicodeDecodeError:
        return "the bytes are in an unknown legacy encoding"
    return "the bytes look like Latin-1/Windows-1252"


# --- staging -------------------------------------------------------------------------------------


class _StagingWriter:
    """Buffers staged rows of one file and writes them as row groups of one Parquet file."""

    def __init__(self, target: Path, landing: LandingFile, file_hash: str) -> None:
        self.target = target
        self.constants = (landing.relative_path, file_hash, landing.landing_date.isoformat())
        self.writer: pq.ParquetWriter | None = None
        self.rows: list[tuple[int, str, list[tuple[str, str]] | None, str | None]] = []

    def add(
        self, line: int, raw: str, fields: list[tuple[str, str]] | None = None, error: str | None = None
    ) -> None:
        self.rows.append((line, raw, fields, error))
        if len(self.rows) >= _ROW_GROUP:
            self.flush()

    def flush(self) -> None:
        if not self.rows:
            return
        lines, raws, fields, errors = zip(*self.rows, strict=True)
        count = len(lines)
        source_file, file_hash, landing_date = self.constants
        batch = pa.record_batch(
            [
                pa.array([source_file] * count, pa.string()),
                pa.array([file_hash] * count, pa.string()),
                pa.array([landing_date] * count, pa.string()),
                pa.array(lines, pa.int64()),
                pa.array(raws, pa.string()),
                pa.array(fields, STAGED_SCHEMA.field("_fields").type),
                pa.array(errors, pa.string()),
            ],
            schema=STAGED_SCHEMA,
        )
        if self.writer is None:
            self.target.parent.mkdir(parents=True, exist_ok=True)
            self.writer = pq.ParquetWriter(self.target, STAGED_SCHEMA, compression="zstd")
        self.writer.write_batch(batch)
        self.rows = []

    def close(self) -> None:
        self.flush()
        if self.writer is not None:
            self.writer.close()

    def discard(self) -> None:
        self.rows = []
        if self.writer is not None:
            with contextlib.suppress(OSError):  # on a full disk closing fails too; the file goes anyway
                self.writer.close()
        self.target.unlink(missing_ok=True)


def stage_file(landing: LandingFile, file_hash: str, contract: Contract, staging_dir: Path) -> StagedFile:
    """Stage one file's records as ``staging_dir/<file_hash>.parquet``; refuse unreadable files whole."""
    staged = StagedFile(landing, file_hash)
    writer = _StagingWriter(staging_dir / f"{file_hash}.parquet", landing, file_hash)
    try:
        if landing.size_bytes == 0:
            raise FileRefused("empty_file", "the file has no bytes; the export probably failed")
        if contract.format == "csv":
            _stage_csv(landing, contract, staged, writer)
        else:
            _stage_ndjson(landing, staged, writer)
        writer.close()
    except FileRefused as refused:
        writer.discard()
        staged.records = 0
        staged.file_error, staged.file_error_detail = refused.reason, refused.detail
    except OSError as exc:  # writing the staging file: the lake's disk is full or read-only
        with contextlib.suppress(OSError):
            writer.discard()
        failure = StorageError.from_failure(exc, f"staging {landing.relative_path}", staging_dir)
        if failure is None:
            raise
        raise failure from exc
    return staged


def _stage_ndjson(landing: LandingFile, staged: StagedFile, writer: _StagingWriter) -> None:
    first = True
    for line_number, text in _lines(landing):
        if not text.strip():
            staged.blank_lines += 1
            continue
        if first and text.lstrip().startswith("["):
            raise FileRefused(
                "json_array",
                "the file is one JSON array, not newline-delimited JSON; export one object per line",
            )
        first = False
        staged.records += 1
        writer.add(line_number, text)


def _stage_csv(landing: LandingFile, contract: Contract, staged: StagedFile, writer: _StagingWriter) -> None:
    delimiter = contract.options.get("delimiter", ",")
    declared = [f.raw_name for f in contract.fields]
    lines = _lines(landing)
    header: list[str] | None = None
    header_text = ""
    for _, text in lines:
        if not text.strip():
            staged.blank_lines += 1
            continue
        header_text = text
        header = [h.strip() for h in next(csv.reader([text], delimiter=delimiter))]
        break
    if header is None:
        raise FileRefused("empty_file", "the file holds only blank lines")
    as_delivered = header
    header, renamed = _apply_aliases(header, contract)
    _check_header(header, header_text, declared, delimiter, contract)
    staged.drift.extend(renamed)
    staged.drift.extend(_header_drift(header, contract))

    # csv.reader over physical lines, remembering which lines each record spanned (quoted newlines).
    # Lines pushed back are read again first: see the unclosed quote below.
    consumed: list[tuple[int, str]] = []
    pushed_back: list[tuple[int, str]] = []

    def physical() -> Iterator[str]:
        while True:
            if pushed_back:
                line_number, text = pushed_back.pop()
            elif (item := next(lines, None)) is not None:
                line_number, text = item
            else:
                return
            consumed.append((line_number, text))
            yield text

    def quarantine_first_line(problem: str) -> None:
        """Quarantine the current record's first line alone and read the lines after it again.

        A quote opened and never closed makes csv read on to the next quote character, swallowing
        the good rows in between; this way one stray quote costs one record, not a stretch of file."""
        (first_line, first_text), rest = consumed[0], consumed[1:]
        consumed.clear()
        pushed_back.extend(reversed(rest))
        staged.records += 1
        writer.add(first_line, first_text, None, f"malformed_csv: {problem}")

    def add_record(values: list[str]) -> None:
        (first_line, _), raw = consumed[0], "\n".join(t for _, t in consumed)
        consumed.clear()
        if not any(v.strip() for v in values):
            staged.blank_lines += 1
            return
        staged.records += 1
        if [v.strip() for v in values] in (header, as_delivered):
            writer.add(first_line, raw, None, "repeated_header")
        elif len(values) != len(header):
            writer.add(
                first_line, raw, None, f"malformed_csv: expected {len(header)} fields, got {len(values)}"
            )
        else:
            writer.add(first_line, raw, list(zip(header, values, strict=True)))

    _allow_large_csv_fields()
    reader = csv.reader(physical(), delimiter=delimiter)
    while True:
        try:
            values = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            if not consumed:
                raise FileRefused("unreadable", f"the CSV cannot be split into records: {exc}") from None
            quarantine_first_line(f"{exc}" + (UNCLOSED_QUOTE if len(consumed) > 1 else ""))
        else:
            if len(consumed) == 1 or len(values) == len(header):
                add_record(values)
                continue
            quarantine_first_line(
                f"expected {len(header)} fields, got {len(values)} over {len(consumed)} lines{UNCLOSED_QUOTE}"
            )
        # The old reader failed mid-record or ran to the end of the file: read the pushed-back lines anew.
        reader = csv.reader(physical(), delimiter=delimiter)


def _allow_large_csv_fields() -> None:
    """Python's csv refuses fields over 128 KiB by default; exports do carry longer ones (a 10 MB
    description). The limit stays finite so a quote that is never closed cannot take all memory."""
    if csv.field_size_limit() < CSV_FIELD_LIMIT:
        csv.field_size_limit(CSV_FIELD_LIMIT)


def _check_header(
    header: list[str], text: str, declared: list[str], delimiter: str, contract: Contract
) -> None:
    if set(header) & set(declared):
        duplicated = sorted({h for h in header if header.count(h) > 1})
        if duplicated:
            raise FileRefused("header_mismatch", f"the header repeats column(s) {duplicated}")
        return
    for other in _OTHER_DELIMITERS:
        if other != delimiter and set(h.strip() for h in text.split(other)) & set(declared):
            raise FileRefused(
                "header_mismatch",
                f"the file is delimited by {other!r}, the contract says {delimiter!r}; re-export or fix the contract",
            )
    raise FileRefused(
        "header_mismatch",
        f"the first line is not a header of {contract.name} (no declared column among {header[:5]}); "
        "the export must start with its header row",
    )


def _apply_aliases(header: list[str], contract: Contract) -> tuple[list[str], list[DriftNote]]:
    """Map columns that arrived under a known alias back to their declared name, noting each."""
    renames = {
        alias: f.raw_name
        for f in contract.fields
        if f.raw_name not in header
        for alias in f.aliases
        if alias in header
    }
    notes = [
        DriftNote(
            "renamed_column", declared, f"column {declared!r} arrived as {alias!r} (a known alias); mapped"
        )
        for alias, declared in renames.items()
    ]
    return [renames.get(h, h) for h in header], notes


def _header_drift(header: list[str], contract: Contract) -> list[DriftNote]:
    declared = [f.raw_name for f in contract.fields]
    unknown = [h for h in header if h not in declared]
    may_be_absent = {f.raw_name for f in contract.fields if f.may_be_absent}
    missing = [d for d in declared if d not in header and d not in may_be_absent]
    notes = [
        DriftNote("unknown_field", h, f"column {h!r} is not in the contract; kept in _rescued")
        for h in unknown
    ]
    for column in missing:
        match = difflib.get_close_matches(column, unknown, n=1, cutoff=0.5)
        if match:
            notes.append(
                DriftNote(
                    "renamed_column",
                    column,
                    f"column {column!r} is missing and {match[0]!r} appeared: likely renamed; its values are in _rescued",
                )
            )
        else:
            notes.append(
                DriftNote("missing_column", column, f"declared column {column!r} is missing from the header")
            )
    return notes


def erasure_rewrites(receipts_path: str, source: str | None = None) -> list[tuple[str, str, str]]:
    """(path, SHA-256 before, SHA-256 after) of every landing file an erasure rewrote, in receipt
    order, read from ``ops.erasure_receipts`` at ``receipts_path`` (none when it does not exist)."""
    from deltalake import DeltaTable

    if not DeltaTable.is_deltatable(receipts_path):
        return []
    rewrites = []
    for row in DeltaTable(receipts_path).to_pyarrow_table(columns=["landing_files"]).to_pylist():
        for rewrite in row["landing_files"] or []:
            if source is None or rewrite["path"].split("/")[1:2] == [source]:
                rewrites.append((rewrite["path"], rewrite["original_sha256"], rewrite["rewritten_sha256"]))
    return rewrites


def taken_after_rewrites(
    taken: set[tuple[str, str]], rewrites: list[tuple[str, str, str]]
) -> set[tuple[str, str]]:
    """The (path, hash) pairs already taken once erasures rewrote some files: a rewrite of a taken
    file is the same delivery (its records are in bronze already), and so is a rewrite of that
    rewrite. A file rewritten before it was ingested is still a new delivery: its other records
    must reach bronze, so it is not taken."""
    result = set(taken)
    pending = list(rewrites)
    while True:
        reached = [(path, after) for path, before, after in pending if (path, before) in result]
        if not reached:
            return result
        result.update(reached)
        pending = [r for r in pending if (r[0], r[2]) not in result]
