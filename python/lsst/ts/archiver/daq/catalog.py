"""The emulator's image catalog: one SQLite database per partition.

SQLite in WAL mode lets one writer add images while readers in other
processes query the catalog (a reader opening an existing catalog only
reads it, so any number of reading processes open and query it at once); every change is one short transaction, so
the catalog survives restarts and crashes (a source is only marked complete
after its data file has been renamed into place).
"""

from __future__ import annotations

__all__ = ["Catalog", "ImageRow"]

import json
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .errors import StoreUnavailableError
from .metadata import ImageMetadata, SourceMetadata

_SCHEMA = """
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS folders (name TEXT PRIMARY KEY, created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS images (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    folder TEXT NOT NULL,
    annotation TEXT NOT NULL,
    opcode INTEGER NOT NULL,
    timestamp REAL NOT NULL,
    tag TEXT NOT NULL,
    release TEXT NOT NULL,
    size INTEGER NOT NULL,
    complete INTEGER NOT NULL DEFAULT 0,
    created REAL NOT NULL,
    evicted_at REAL
);
CREATE UNIQUE INDEX IF NOT EXISTS images_live_name ON images (folder, name) WHERE evicted_at IS NULL;
CREATE INDEX IF NOT EXISTS images_timestamp ON images (timestamp);
CREATE TABLE IF NOT EXISTS sources (
    seq INTEGER NOT NULL REFERENCES images (seq) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    location TEXT NOT NULL,
    metadata TEXT NOT NULL,
    complete INTEGER NOT NULL DEFAULT 0,
    checksum INTEGER,
    PRIMARY KEY (seq, location)
);
"""

_IMAGE_COLUMNS = "seq, name, folder, annotation, opcode, timestamp, tag, release, complete, evicted_at"


@dataclass(frozen=True)
class ImageRow:
    """An image as stored: its catalog sequence number, metadata and eviction time."""

    seq: int
    metadata: ImageMetadata
    evicted_at: float | None


class Catalog:
    """Thread-safe access to one partition's catalog database.

    Parameters
    ----------
    path : `pathlib.Path`
        The database file; created with its schema if missing.
    partition : `str`
        Partition name, copied into every `ImageMetadata`.
    """

    def __init__(self, path: Path, partition: str) -> None:
        self.path = path
        self.partition = partition
        self._lock = threading.RLock()
        try:
            self._db = sqlite3.connect(path, timeout=30.0, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            # Readers of an existing catalog take no write lock: the schema is
            # only created when missing (several capture processes open it at once).
            if not self.query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sources'"):
                with self.transaction() as db:
                    for statement in _SCHEMA.split(";"):
                        if statement.strip():
                            db.execute(statement)
        except sqlite3.Error as e:
            raise StoreUnavailableError(
                f"cannot open DAQ catalog {path} of partition {partition!r}: {e}"
            ) from e

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction (``BEGIN IMMEDIATE`` ... ``COMMIT``), serialised across threads."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def query(self, sql: str, params: Sequence[object] = ()) -> list[tuple]:
        """Run a read-only query and return all rows."""
        with self._lock:
            try:
                return self._db.execute(sql, params).fetchall()
            except sqlite3.Error as e:
                raise StoreUnavailableError(f"DAQ catalog {self.path} query failed: {e}") from e

    # settings ---------------------------------------------------------------
    def get_setting(self, key: str) -> str | None:
        """A stored setting, or None."""
        rows = self.query("SELECT value FROM settings WHERE key = ?", (key,))
        return rows[0][0] if rows else None

    def set_setting(self, key: str, value: str) -> None:
        """Store a setting."""
        with self.transaction() as db:
            db.execute("INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)", (key, value))

    # folders ----------------------------------------------------------------
    def folders(self) -> list[str]:
        """Folder names, sorted."""
        return [r[0] for r in self.query("SELECT name FROM folders ORDER BY name")]

    def has_folder(self, name: str) -> bool:
        """Whether the folder exists."""
        return bool(self.query("SELECT 1 FROM folders WHERE name = ?", (name,)))

    # images -----------------------------------------------------------------
    def _sources(self, seq: int) -> tuple[SourceMetadata, ...]:
        rows = self.query(
            "SELECT metadata, complete, checksum FROM sources WHERE seq = ? ORDER BY position", (seq,)
        )
        sources = []
        for metadata, complete, checksum in rows:
            data = json.loads(metadata)
            data["complete"] = bool(complete)
            data["checksum"] = checksum
            sources.append(SourceMetadata.from_dict(data))
        return tuple(sources)

    def _row(self, row: tuple) -> ImageRow:
        seq, name, folder, annotation, opcode, timestamp, tag, release, complete, evicted_at = row
        metadata = ImageMetadata(
            name=name,
            folder=folder,
            partition=self.partition,
            annotation=annotation,
            opcode=opcode,
            timestamp=timestamp,
            tag=int(tag, 16),
            release=release,
            sources=self._sources(seq),
            complete=bool(complete),
        )
        return ImageRow(seq, metadata, evicted_at)

    def live_image(self, name: str, folder: str) -> ImageRow | None:
        """The image of that name in the folder, if not evicted."""
        rows = self.query(
            f"SELECT {_IMAGE_COLUMNS} FROM images WHERE folder = ? AND name = ? AND evicted_at IS NULL",
            (folder, name),
        )
        return self._row(rows[0]) if rows else None

    def evicted_image(self, name: str, folder: str) -> ImageRow | None:
        """The most recent evicted image of that name in the folder, if any."""
        rows = self.query(
            f"SELECT {_IMAGE_COLUMNS} FROM images WHERE folder = ? AND name = ? AND evicted_at IS NOT NULL "
            "ORDER BY seq DESC LIMIT 1",
            (folder, name),
        )
        return self._row(rows[0]) if rows else None

    def list_images(
        self, folder: str | None, since: float | None, until: float | None, complete_only: bool
    ) -> list[ImageRow]:
        """Live images, sorted by trigger time then creation order."""
        clauses = ["evicted_at IS NULL"]
        params: list[object] = []
        if folder is not None:
            clauses.append("folder = ?")
            params.append(folder)
        if since is not None:
            clauses.append("timestamp >= ?")
            params.append(since)
        if until is not None:
            clauses.append("timestamp < ?")
            params.append(until)
        if complete_only:
            clauses.append("complete = 1")
        rows = self.query(
            f"SELECT {_IMAGE_COLUMNS} FROM images WHERE {' AND '.join(clauses)} ORDER BY timestamp, seq",
            params,
        )
        return [self._row(r) for r in rows]

    def images_after(self, seq: int, folder: str | None) -> list[ImageRow]:
        """Live images created after catalog sequence number ``seq``, oldest first."""
        if folder is None:
            rows = self.query(
                f"SELECT {_IMAGE_COLUMNS} FROM images WHERE seq > ? AND evicted_at IS NULL ORDER BY seq LIMIT 1",
                (seq,),
            )
        else:
            rows = self.query(
                f"SELECT {_IMAGE_COLUMNS} FROM images WHERE seq > ? AND folder = ? AND evicted_at IS NULL "
                "ORDER BY seq LIMIT 1",
                (seq, folder),
            )
        return [self._row(r) for r in rows]

    def newest_images_after(self, seq: int, folder: str | None, limit: int = 256) -> list[ImageRow]:
        """Live images created after catalog sequence number ``seq``, newest first (at most ``limit``)."""
        where = "seq > ? AND evicted_at IS NULL"
        params: list[int | str] = [seq]
        if folder is not None:
            where += " AND folder = ?"
            params.append(folder)
        rows = self.query(
            f"SELECT {_IMAGE_COLUMNS} FROM images WHERE {where} ORDER BY seq DESC LIMIT ?", (*params, limit)
        )
        return [self._row(r) for r in rows]

    def image_by_seq(self, seq: int) -> ImageRow | None:
        """An image (live or evicted) by sequence number."""
        rows = self.query(f"SELECT {_IMAGE_COLUMNS} FROM images WHERE seq = ?", (seq,))
        return self._row(rows[0]) if rows else None

    def last_seq(self) -> int:
        """Highest image sequence number so far (0 if none)."""
        rows = self.query("SELECT MAX(seq) FROM images")
        return int(rows[0][0] or 0)

    def used_bytes(self) -> int:
        """Bytes reserved by live images."""
        rows = self.query("SELECT COALESCE(SUM(size), 0) FROM images WHERE evicted_at IS NULL")
        return int(rows[0][0])

    def oldest_live(self) -> list[tuple[int, str, str, int]]:
        """``(seq, name, folder, size)`` of live images, oldest first."""
        return [
            (int(s), n, f, int(z))
            for s, n, f, z in self.query(
                "SELECT seq, name, folder, size FROM images WHERE evicted_at IS NULL ORDER BY seq"
            )
        ]

    def insert_image(self, db: sqlite3.Connection, metadata: ImageMetadata) -> int:
        """Insert an image and its (incomplete) sources; returns its sequence number."""
        cursor = db.execute(
            "INSERT INTO images (name, folder, annotation, opcode, timestamp, tag, release, size, created) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                metadata.name,
                metadata.folder,
                metadata.annotation,
                metadata.opcode,
                metadata.timestamp,
                metadata.tag_hex,
                metadata.release,
                metadata.size,
                time.time(),
            ),
        )
        seq = int(cursor.lastrowid or 0)
        for position, source in enumerate(metadata.sources):
            data = source.to_dict()
            del data["complete"], data["checksum"]
            db.execute(
                "INSERT INTO sources (seq, position, location, metadata) VALUES (?, ?, ?, ?)",
                (seq, position, str(source.location), json.dumps(data)),
            )
        return seq

    def mark_source_complete(self, seq: int, location: str, checksum: int) -> bool:
        """Mark a source written; returns True if that completed the image."""
        with self.transaction() as db:
            db.execute(
                "UPDATE sources SET complete = 1, checksum = ? WHERE seq = ? AND location = ?",
                (checksum, seq, location),
            )
            missing = db.execute(
                "SELECT COUNT(*) FROM sources WHERE seq = ? AND complete = 0", (seq,)
            ).fetchone()[0]
            if missing == 0:
                db.execute("UPDATE images SET complete = 1 WHERE seq = ?", (seq,))
            return bool(missing == 0)
