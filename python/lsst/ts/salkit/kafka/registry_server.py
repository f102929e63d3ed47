"""A development stand-in for the Confluent schema registry.

**Not for production.** The observatory runs a real Confluent Schema Registry;
this small in-memory HTTP server exists so that tests and developers can run
a CSC and its commanders in separate processes on one machine without one.
No Confluent-compatible registry server can be installed from the package
registries this project uses.

It implements the REST subset that ts_salobj, our own client
(:class:`~lsst.ts.salkit.kafka.registry_client.SchemaRegistryClient`) and
confluent-kafka's ``SchemaRegistryClient`` / ``AvroSerializer`` /
``AvroDeserializer`` use:

* ``POST /subjects/{subject}/versions``: register (idempotent);
* ``POST /subjects/{subject}``: look a schema up in a subject;
* ``GET /subjects``, ``GET /subjects/{subject}/versions``,
  ``GET /subjects/{subject}/versions/{version|latest}[/schema]``;
* ``GET /schemas/ids/{id}[/schema|/versions|/subjects]``, ``GET /schemas/types``;
* ``DELETE /subjects/{subject}``;
* ``GET|PUT /config[/{subject}]``;
* ``POST /compatibility/subjects/{subject}/versions/{version}``.

Differences from the real registry: state is in memory only (ids restart at 1
when the server restarts), compatibility levels are stored and reported but
not enforced, schema references and non-Avro schema types are not supported.
Identical schemas (compared as canonical JSON) get the same id in every
subject, as in the real registry.

Run it with ``python -m lsst.ts.salkit.kafka.registry_server --port 8081``.
"""

from __future__ import annotations

__all__ = ["SchemaRegistryServer", "main"]

import argparse
import dataclasses
import http.server
import json
import logging
import signal
import socket
import threading
import urllib.parse
from typing import Any

_CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"
_COMPATIBILITY_LEVELS = frozenset(
    {"NONE", "BACKWARD", "BACKWARD_TRANSITIVE", "FORWARD", "FORWARD_TRANSITIVE", "FULL", "FULL_TRANSITIVE"}
)


class _HttpError(Exception):
    def __init__(self, status: int, error_code: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error_code = error_code
        self.message = message


@dataclasses.dataclass
class _SubjectVersion:
    version: int
    schema_id: int


class _RegistryState:
    """The registry's data, guarded by one lock."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.schemas: list[str] = []  # schema text by id - 1
        self.id_by_canonical: dict[str, int] = {}
        self.subjects: dict[str, list[_SubjectVersion]] = {}
        self.global_compatibility = "BACKWARD"
        self.subject_compatibility: dict[str, str] = {}

    def schema_text(self, schema_id: int) -> str:
        if not 1 <= schema_id <= len(self.schemas):
            raise _HttpError(404, 40403, f"Schema {schema_id} not found")
        return self.schemas[schema_id - 1]

    def versions_of(self, subject: str) -> list[_SubjectVersion]:
        versions = self.subjects.get(subject)
        if not versions:
            raise _HttpError(404, 40401, f"Subject '{subject}' not found.")
        return versions

    def find_version(self, subject: str, version_text: str) -> _SubjectVersion:
        versions = self.versions_of(subject)
        if version_text in ("latest", "-1"):
            return versions[-1]
        try:
            number = int(version_text)
        except ValueError:
            raise _HttpError(422, 42202, f"The specified version '{version_text}' is not valid.") from None
        for entry in versions:
            if entry.version == number:
                return entry
        raise _HttpError(404, 40402, f"Version {number} not found.")

    def register(self, subject: str, schema_text: str) -> int:
        canonical = _canonical(schema_text)
        schema_id = self.id_by_canonical.get(canonical)
        if schema_id is None:
            self.schemas.append(schema_text)
            schema_id = len(self.schemas)
            self.id_by_canonical[canonical] = schema_id
        versions = self.subjects.setdefault(subject, [])
        if not any(entry.schema_id == schema_id for entry in versions):
            next_version = versions[-1].version + 1 if versions else 1
            versions.append(_SubjectVersion(next_version, schema_id))
        return schema_id


def _canonical(schema_text: str) -> str:
    try:
        schema = json.loads(schema_text)
    except ValueError as e:
        raise _HttpError(422, 42201, f"Invalid schema: not JSON: {e}") from None
    if not isinstance(schema, (dict, list, str)):
        raise _HttpError(422, 42201, "Invalid schema: must be a JSON object, array or string")
    return json.dumps(schema, sort_keys=True, separators=(",", ":"))


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: _Server

    # --- plumbing -----------------------------------------------------------

    def log_message(self, format: str, *args: Any) -> None:
        self.server.log.debug("%s " + format, self.address_string(), *args)

    def _reply(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode() if not isinstance(body, bytes) else body
        self.send_response(status)
        self.send_header("Content-Type", _CONTENT_TYPE)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _read_body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if not raw:
            return {}
        try:
            return json.loads(raw)
        except ValueError:
            raise _HttpError(400, 400, "Request body is not JSON") from None

    def _dispatch(self, method: str) -> None:
        path = urllib.parse.urlsplit(self.path).path
        parts = [urllib.parse.unquote(part) for part in path.strip("/").split("/") if part]
        try:
            body = self._read_body() if method in ("POST", "PUT") else None
            status, reply = self._route(method, parts, body)
        except _HttpError as e:
            status, reply = e.status, {"error_code": e.error_code, "message": e.message}
        self._reply(status, reply)

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    # --- routes -------------------------------------------------------------

    def _route(self, method: str, parts: list[str], body: Any) -> tuple[int, Any]:
        state = self.server.state
        with state.lock:
            match method, parts:
                case "GET", []:
                    return 200, {}
                case "GET", ["subjects"]:
                    return 200, sorted(state.subjects)
                case "GET", ["schemas", "types"]:
                    return 200, ["AVRO"]
                case "GET", ["schemas", "ids", id_text, *rest]:
                    return self._get_schema_by_id(id_text, rest)
                case "POST", ["subjects", subject, "versions"]:
                    return 200, {"id": state.register(subject, _schema_text_of(body))}
                case "POST", ["subjects", subject]:
                    return self._lookup(subject, _schema_text_of(body))
                case "GET", ["subjects", subject, "versions"]:
                    return 200, [entry.version for entry in state.versions_of(subject)]
                case "GET", ["subjects", subject, "versions", version_text]:
                    return 200, self._version_reply(subject, state.find_version(subject, version_text))
                case "GET", ["subjects", subject, "versions", version_text, "schema"]:
                    entry = state.find_version(subject, version_text)
                    return 200, state.schema_text(entry.schema_id).encode()
                case "DELETE", ["subjects", subject]:
                    versions = state.versions_of(subject)
                    del state.subjects[subject]
                    state.subject_compatibility.pop(subject, None)
                    return 200, [entry.version for entry in versions]
                case "GET", ["config"]:
                    return 200, {"compatibilityLevel": state.global_compatibility}
                case "GET", ["config", subject]:
                    level = state.subject_compatibility.get(subject)
                    if level is None:
                        raise _HttpError(
                            404,
                            40408,
                            f"Subject '{subject}' does not have subject-level compatibility configured",
                        )
                    return 200, {"compatibilityLevel": level}
                case "PUT", ["config"]:
                    state.global_compatibility = _compatibility_of(body)
                    return 200, {"compatibility": state.global_compatibility}
                case "PUT", ["config", subject]:
                    state.subject_compatibility[subject] = _compatibility_of(body)
                    return 200, {"compatibility": state.subject_compatibility[subject]}
                case "POST", ["compatibility", "subjects", subject, "versions", *_]:
                    _schema_text_of(body)
                    return 200, {"is_compatible": True}
        raise _HttpError(
            404, 404, f"{method} /{'/'.join(parts)} is not supported by this development registry"
        )

    def _get_schema_by_id(self, id_text: str, rest: list[str]) -> tuple[int, Any]:
        state = self.server.state
        try:
            schema_id = int(id_text)
        except ValueError:
            raise _HttpError(404, 40403, f"Schema {id_text} not found") from None
        text = state.schema_text(schema_id)
        if not rest:
            return 200, {"schema": text}
        if rest == ["schema"]:
            return 200, text.encode()
        uses = [
            (subject, entry.version)
            for subject, versions in sorted(state.subjects.items())
            for entry in versions
            if entry.schema_id == schema_id
        ]
        if rest == ["versions"]:
            return 200, [{"subject": subject, "version": version} for subject, version in uses]
        if rest == ["subjects"]:
            return 200, sorted({subject for subject, _ in uses})
        raise _HttpError(404, 404, f"/schemas/ids/{id_text}/{'/'.join(rest)} is not supported")

    def _lookup(self, subject: str, schema_text: str) -> tuple[int, Any]:
        state = self.server.state
        versions = state.versions_of(subject)
        schema_id = state.id_by_canonical.get(_canonical(schema_text))
        for entry in versions:
            if entry.schema_id == schema_id:
                return 200, self._version_reply(subject, entry)
        raise _HttpError(404, 40403, "Schema not found")

    def _version_reply(self, subject: str, entry: _SubjectVersion) -> dict[str, Any]:
        return {
            "subject": subject,
            "version": entry.version,
            "id": entry.schema_id,
            "schema": self.server.state.schema_text(entry.schema_id),
        }


def _schema_text_of(body: Any) -> str:
    if not isinstance(body, dict) or not isinstance(body.get("schema"), str):
        raise _HttpError(
            422, 42201, "Invalid schema: the request must be a JSON object with a 'schema' string"
        )
    schema_type = body.get("schemaType", "AVRO")
    if schema_type != "AVRO":
        raise _HttpError(422, 42201, f"Invalid schema: type {schema_type} is not supported (AVRO only)")
    if body.get("references"):
        raise _HttpError(422, 42201, "Invalid schema: schema references are not supported")
    return body["schema"]


def _compatibility_of(body: Any) -> str:
    level = body.get("compatibility") if isinstance(body, dict) else None
    if not isinstance(level, str) or level.upper() not in _COMPATIBILITY_LEVELS:
        raise _HttpError(422, 42203, f"Invalid compatibility level {level!r}")
    return level.upper()


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], state: _RegistryState, log: logging.Logger) -> None:
        self.state = state
        self.log = log
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        self.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().server_bind()


class SchemaRegistryServer:
    """Development Confluent-compatible schema registry, in a thread.

    Parameters
    ----------
    host : `str`
        Address to bind; loopback by default.
    port : `int`
        TCP port; 0 picks a free one (see `port` after `start`).
    log : `logging.Logger`, optional
        Logger for requests (at debug level).
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, log: logging.Logger | None = None) -> None:
        self._host = host
        self._port = port
        self._log = log or logging.getLogger(__name__)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The bound TCP port (after `start`)."""
        if self._server is None:
            raise RuntimeError("SchemaRegistryServer is not started")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """The base URL clients use (after `start`)."""
        return f"http://{self._host}:{self.port}"

    def start(self) -> None:
        """Bind and serve in a daemon thread."""
        if self._server is not None:
            return
        self._server = _Server((self._host, self._port), _RegistryState(), self._log)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="schema-registry",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and close the socket."""
        server, self._server = self._server, None
        if server is None:
            return
        if self._thread is not None:
            server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        server.server_close()

    def __enter__(self) -> SchemaRegistryServer:
        self.start()
        return self

    def __exit__(self, *args: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> None:
    """Run the development schema registry in the foreground."""
    parser = argparse.ArgumentParser(
        description="Development stand-in for the Confluent schema registry (in memory; not for production)."
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: %(default)s)")
    parser.add_argument("--port", type=int, default=8081, help="TCP port (default: %(default)s)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    server = SchemaRegistryServer(args.host, args.port)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    server.start()
    logging.info("development schema registry listening on http://%s:%d", args.host, args.port)
    stop.wait()
    server.stop()


if __name__ == "__main__":
    main()
