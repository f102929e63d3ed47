"""A small, thread-safe Confluent schema-registry client with caches.

It speaks the subset of the REST API salobj needs: register a schema under a
subject (idempotent: the registry returns the existing id for a schema it
already has) and fetch a schema by id. Results are cached, so each schema id
costs at most one request per process.
"""

from __future__ import annotations

__all__ = ["SchemaRegistryClient", "SchemaRegistryError"]

import http.client
import json
import threading
import urllib.parse
from collections.abc import Mapping
from typing import Any

from .framing import parse_avro_schema

_CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"


class SchemaRegistryError(RuntimeError):
    """The schema registry refused a request or could not be reached.

    Parameters
    ----------
    message : `str`
        What went wrong, including the URL.
    status : `int`
        HTTP status, or 0 if there was no HTTP response.
    error_code : `int`
        The registry's ``error_code`` field, or 0.
    """

    def __init__(self, message: str, status: int = 0, error_code: int = 0) -> None:
        super().__init__(message)
        self.status = status
        self.error_code = error_code


def canonical_schema_text(schema: Mapping[str, Any] | str) -> str:
    """Return a canonical JSON text of a schema (sorted keys, no spaces),
    used as cache key."""
    as_obj = json.loads(schema) if isinstance(schema, str) else schema
    return json.dumps(as_obj, sort_keys=True, separators=(",", ":"))


class SchemaRegistryClient:
    """Client of a Confluent-compatible schema registry.

    Parameters
    ----------
    url : `str`
        Base URL, e.g. ``http://127.0.0.1:8081``.
    timeout : `float`
        Per-request socket timeout (seconds).
    """

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        parsed = urllib.parse.urlsplit(url)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise SchemaRegistryError(
                f"schema registry URL {url!r} must look like http://host:port (LSST_SCHEMA_REGISTRY_URL)"
            )
        self.url = url.rstrip("/")
        self._scheme = parsed.scheme
        self._host = parsed.hostname
        self._port = parsed.port
        self._base_path = parsed.path.rstrip("/")
        self._timeout = timeout
        self._local = threading.local()
        self._lock = threading.Lock()
        self._id_by_subject_schema: dict[tuple[str, str], int] = {}
        self._schema_by_id: dict[int, dict[str, Any]] = {}
        self._parsed_by_id: dict[int, Any] = {}

    # --- public API ---------------------------------------------------------

    def register(self, subject: str, schema: Mapping[str, Any]) -> int:
        """Register ``schema`` under ``subject`` and return its id.

        Idempotent: registering a schema the registry already has under that
        subject returns the existing id; repeated calls hit a local cache.

        Raises
        ------
        SchemaRegistryError
            If the registry rejects the schema (e.g. 409: incompatible with the
            subject's earlier versions under its compatibility level) or
            cannot be reached.
        """
        text = canonical_schema_text(schema)
        with self._lock:
            cached = self._id_by_subject_schema.get((subject, text))
        if cached is not None:
            return cached
        body = {"schema": json.dumps(schema), "schemaType": "AVRO"}
        reply = self._request("POST", f"/subjects/{_quote(subject)}/versions", body)
        if not isinstance(reply, dict) or not isinstance(reply.get("id"), int):
            raise SchemaRegistryError(f"schema registry {self.url}: unexpected reply to register: {reply!r}")
        schema_id: int = reply["id"]
        with self._lock:
            self._id_by_subject_schema[(subject, text)] = schema_id
            self._schema_by_id.setdefault(schema_id, json.loads(text))
        return schema_id

    def get_schema(self, schema_id: int) -> dict[str, Any]:
        """Return the schema with this id (as a dict), from cache if known.

        Raises
        ------
        SchemaRegistryError
            If the id is unknown to the registry or it cannot be reached.
        """
        with self._lock:
            cached = self._schema_by_id.get(schema_id)
        if cached is not None:
            return cached
        reply = self._request("GET", f"/schemas/ids/{schema_id}", None)
        if not isinstance(reply, dict) or not isinstance(reply.get("schema"), str):
            raise SchemaRegistryError(
                f"schema registry {self.url}: unexpected reply for id {schema_id}: {reply!r}"
            )
        schema_type = reply.get("schemaType", "AVRO")
        if schema_type != "AVRO":
            raise SchemaRegistryError(f"schema id {schema_id} is a {schema_type} schema, not AVRO")
        schema = json.loads(reply["schema"])
        with self._lock:
            self._schema_by_id[schema_id] = schema
        return schema

    def get_parsed_schema(self, schema_id: int) -> Any:
        """Return the schema with this id parsed for fastavro (cached)."""
        with self._lock:
            parsed = self._parsed_by_id.get(schema_id)
        if parsed is not None:
            return parsed
        parsed = parse_avro_schema(self.get_schema(schema_id))
        with self._lock:
            self._parsed_by_id[schema_id] = parsed
        return parsed

    def get_subjects(self) -> list[str]:
        """Return all subjects of the registry."""
        reply = self._request("GET", "/subjects", None)
        return list(reply or [])

    def delete_subject(self, subject: str) -> list[int]:
        """Delete a subject; return the deleted version numbers."""
        reply = self._request("DELETE", f"/subjects/{_quote(subject)}", None)
        with self._lock:
            for key in [key for key in self._id_by_subject_schema if key[0] == subject]:
                del self._id_by_subject_schema[key]
        return list(reply or [])

    def close(self) -> None:
        """Close this thread's connection (others close when collected)."""
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            self._local.connection = None

    # --- HTTP ---------------------------------------------------------------

    def _connection(self) -> http.client.HTTPConnection:
        connection: http.client.HTTPConnection | None = getattr(self._local, "connection", None)
        if connection is None:
            cls = http.client.HTTPSConnection if self._scheme == "https" else http.client.HTTPConnection
            connection = cls(self._host, self._port, timeout=self._timeout)
            self._local.connection = connection
        return connection

    def _request(self, method: str, path: str, body: Any) -> Any:
        payload = None if body is None else json.dumps(body).encode()
        headers = {"Accept": f"{_CONTENT_TYPE}, application/json"}
        if payload is not None:
            headers["Content-Type"] = _CONTENT_TYPE
        full_path = self._base_path + path
        last_error: Exception | None = None
        # One retry on a fresh connection: the server may have closed an idle keep-alive connection.
        for _ in range(2):
            connection = self._connection()
            try:
                connection.request(method, full_path, body=payload, headers=headers)
                response = connection.getresponse()
                data = response.read()
            except (OSError, http.client.HTTPException) as e:
                connection.close()
                self._local.connection = None
                last_error = e
                continue
            return self._parse_reply(method, full_path, response.status, data)
        raise SchemaRegistryError(
            f"cannot reach the schema registry at {self.url} ({method} {full_path}): {last_error}; "
            "check LSST_SCHEMA_REGISTRY_URL"
        )

    def _parse_reply(self, method: str, path: str, status: int, data: bytes) -> Any:
        try:
            reply = json.loads(data) if data else None
        except ValueError:
            reply = data.decode(errors="replace")
        if 200 <= status < 300:
            return reply
        message = reply.get("message", reply) if isinstance(reply, dict) else reply
        error_code = reply.get("error_code", 0) if isinstance(reply, dict) else 0
        raise SchemaRegistryError(
            f"schema registry {self.url}: {method} {path} failed with HTTP {status}: {message}",
            status=status,
            error_code=error_code,
        )


def _quote(subject: str) -> str:
    return urllib.parse.quote(subject, safe="")
