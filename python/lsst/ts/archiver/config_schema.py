"""Configuration schema of the Archiver CSC (ATArchiver, CCArchiver, MTArchiver).

One draft-07 JSON schema serves the three components; the destinations
array embeds the delivery package's schema of one destination
(`lsst.ts.archiver.delivery.DESTINATION_SCHEMA`). Defaults live in
``config/<Component>/v1/_init.yaml``, not here (salkit does not apply
schema defaults).
"""

from __future__ import annotations

__all__ = ["CONFIG_SCHEMA", "MAX_DESTINATIONS"]

import copy
from typing import Any

import yaml

from .delivery import DESTINATION_SCHEMA

MAX_DESTINATIONS = 8
"""Most destinations one Archiver delivers to (the ``archiverHealth.queueDepth`` array length)."""

_SCHEMA_YAML = """
$schema: http://json-schema.org/draft-07/schema#
$id: https://github.com/lsst-ts/ts_archiver/blob/main/python/lsst/ts/archiver/config_schema.py
title: Archiver v1
description: >-
  Configuration of an Archiver CSC (ATArchiver, CCArchiver or MTArchiver).
  Relative paths are resolved against the CSC's working directory.
type: object
additionalProperties: false
required: [daq, staging, fits, header_service, destinations, ledger_url, workers, capture_attempts, capture, cleanup, catch_up, trigger, oods_face]
properties:
  status_page:
    description: >-
      A read-only status page served by the CSC over HTTP while it is DISABLED or
      ENABLED: the focal-plane maps of the latest images, queue depth per
      destination, workers and recent failures (/ and /status.json). Optional;
      absent or port null: no page.
    type: object
    additionalProperties: false
    properties:
      port:
        description: TCP port; 0 takes any free port (the CSC logs the URL); null disables the page.
        type: [integer, "null"]
        minimum: 0
        maximum: 65535
      host:
        description: >-
          Address to listen on; the loopback address by default. The page has no
          authentication: listen beyond loopback only on a trusted network.
        type: string
        minLength: 1
  oods_face:
    description: >-
      Also run as the camera's OODS component (ATOODS, CCOODS, MTOODS), writing
      imageInOODS per file with ts_xml's fields as ctrl_oods does, so scripts that
      wait on the OODS see the Archiver's ingests. Enable it only where no
      ctrl_oods CSC of that name runs.
    type: object
    additionalProperties: false
    required: [enabled]
    properties:
      enabled:
        type: boolean
  trigger:
    description: >-
      What starts the capture of a new image: the camera's endOfImageTelemetry
      event (event), the DAQ store's stream of new images without camera events
      (stream: the camera writer's mode, for engineering images taken under
      camera control), or both (deduplicated by image name).
    type: object
    additionalProperties: false
    required: [mode, event_grace]
    properties:
      mode:
        type: string
        enum: [event, stream, both]
      event_grace:
        description: >-
          With mode both: seconds the stream leaves a new complete image to the
          camera's event (which carries its metadata) before starting it itself.
        type: number
        minimum: 0
  daq:
    description: Where the camera's images are read from.
    type: object
    additionalProperties: false
    required: [root, partition, folder, wait_timeout]
    properties:
      root:
        description: >-
          Root directory of the DAQ image store. Today the store is the on-disk
          emulator (lsst.ts.archiver.daq.EmulatedDaqStore); its partitions live in
          <root>/<partition>. The store must exist (a missing store is a FAULT).
        type: string
        minLength: 1
      partition:
        description: >-
          DAQ partition to read ('lat' for LATISS, 'comcam', 'camera' for LSSTCam);
          blank for the camera's own partition.
        type: string
      folder:
        description: DAQ folder holding the camera's images (normally 'raw').
        type: string
        minLength: 1
      wait_timeout:
        description: >-
          Seconds to wait for an image to be complete in the DAQ store after the
          camera announced it (a slow DAQ); after that the missing sources are
          reported as failed.
        type: number
        exclusiveMinimum: 0
  staging:
    description: The local staging area where raw files are written before delivery.
    type: object
    additionalProperties: false
    required: [directory, min_free_space]
    properties:
      directory:
        description: >-
          Directory for the raw FITS files, sidecars and expectedSensors manifests,
          in <directory>/<day_obs>/<obsid>/. Created if missing; it must be
          writable (else FAULT).
        type: string
        minLength: 1
      min_free_space:
        description: >-
          Free space (GB) the staging area must keep; below it the Archiver goes
          to FAULT (STAGING_FULL) rather than write partial files.
        type: number
        minimum: 0
  fits:
    description: How raw FITS files are written.
    type: object
    additionalProperties: false
    required: [compress, fsync]
    properties:
      compress:
        description: RICE_1-compress the amplifier extensions (one tile per row); lossless.
        type: boolean
      fsync:
        description: Flush every file to disk before announcing it (slower; survives a power cut).
        type: boolean
  header_service:
    description: >-
      The Header Service whose headers are merged into the primary HDU, and the
      rules for fetching its header files. A header URL that breaks a rule is
      refused without being contacted; a fetch that fails, times out or is too
      large is abandoned. In both cases the files are written with the
      Archiver's own metadata, marked HDRSRC='Archiver' with HDRNOTE saying why,
      and a warning (logMessage) names the image, the URL and the reason.
    type: object
    additionalProperties: false
    required:
      - name
      - wait_timeout
      - allowed_schemes
      - allowed_hosts
      - allowed_buckets
      - file_root
      - connect_timeout
      - read_timeout
      - fetch_timeout
      - max_size
      - max_fetches
      - late_header_window
    properties:
      name:
        description: >-
          SAL name of the Header Service CSC (e.g. CCHeaderService); blank for the
          camera's own.
        type: string
      wait_timeout:
        description: >-
          Seconds to wait after endOfImageTelemetry for the header
          (largeFileObjectAvailable). A header that arrives before the files are
          written is merged; otherwise the files are written with the Archiver's
          own metadata and marked HDRSRC='Archiver'.
        type: number
        minimum: 0
      allowed_schemes:
        description: >-
          URL schemes a header may be fetched with: https, http (unencrypted),
          s3 and file. A URL with any other scheme is refused.
        type: array
        uniqueItems: true
        items:
          type: string
          enum: [file, http, https, s3]
      allowed_hosts:
        description: >-
          Hosts that http(s) header URLs may name (the site's Header Service or
          LFA web server, e.g. s3.cp.lsst.org): 'host' allows any port,
          'host:port' (or '[IPv6]:port') that port only. Compared with the URL's
          host as written, case-insensitively, and never resolved; any other host
          (e.g. a cloud metadata address such as 169.254.169.254) is refused
          without a connection. Redirects are not followed.
        type: array
        uniqueItems: true
        items:
          type: string
          minLength: 1
      allowed_buckets:
        description: >-
          S3 buckets that s3 header URLs (s3://bucket/key or
          s3://profile@bucket/key) may name, e.g. rubinobs-lfa-cp. The endpoint
          and credentials are found as lsst-resources finds them
          (LSST_RESOURCES_S3_PROFILE_<profile>, S3_ENDPOINT_URL, AWS variables).
        type: array
        uniqueItems: true
        items:
          type: string
          minLength: 1
      file_root:
        description: >-
          Directory that file header URLs must be under, checked once after
          resolving '..' and again after resolving symlinks; only regular files
          are read. Blank: the directory that holds daq.root (where the simulated
          Header Service of --simulate, make demo and the tests writes). To refuse
          every file URL, leave 'file' out of allowed_schemes.
        type: string
      connect_timeout:
        description: Seconds to wait for a connection to the header's server (http(s), s3).
        type: number
        exclusiveMinimum: 0
      read_timeout:
        description: >-
          Seconds to wait for more data once connected (http(s), s3); a server
          that stops sending for longer is abandoned.
        type: number
        exclusiveMinimum: 0
      fetch_timeout:
        description: >-
          Total deadline of one header fetch in seconds (waiting for a free fetch
          thread, connecting, reading; no retry after it). Shortened to
          wait_timeout when wait_timeout is positive and shorter.
        type: number
        exclusiveMinimum: 0
      max_size:
        description: >-
          Largest header file accepted, in bytes; a larger file is refused and
          reading stops as soon as the limit is passed.
        type: integer
        minimum: 1
      max_fetches:
        description: >-
          Header fetches that may run at once, each in its own thread of a pool
          used for nothing else; a slow server then delays only the images whose
          headers it holds.
        type: integer
        minimum: 1
        maximum: 64
      late_header_window:
        description: >-
          Seconds after an image's files were written (with the Archiver's own
          metadata, HDRSRC='Archiver') during which a header that arrives late is
          still applied: it is fetched under the rules above, every written file
          is rewritten with the merged header (same pixels, new checksums) and
          delivered again to every destination, whose Butler datasets are
          replaced in place (same dataset ids); imageInOODS is written again. A
          header that arrives later is only recorded (ledger and logMessage). 0
          disables it. Keep it well below cleanup.retention, after which the
          staged files are gone.
        type: number
        minimum: 0
  destinations:
    description: >-
      Where every raw file goes (OODS, Data Backbone, Prompt Processing,
      copies), each with its own durable queue, retries and optional Butler
      ingest. At most 8.
    type: array
    maxItems: 8
    items: {}
  ledger_url:
    description: >-
      SQLAlchemy URL of the ledger (the Archiver's durable state), e.g.
      sqlite:///var/archiver/ledger.sqlite3 or
      postgresql+psycopg://archiver@host:5432/archiver; a plain path means SQLite.
      Unreachable at start or while running: FAULT.
    type: string
    minLength: 1
  workers:
    description: Capture worker processes (decode + FITS write); 0 means one per CPU core.
    type: integer
    minimum: 0
    maximum: 256
  capture_attempts:
    description: >-
      Attempts per detector for transient capture errors (DAQ read errors,
      write errors) before the detector is reported failed.
    type: integer
    minimum: 1
    maximum: 100
  capture:
    description: >-
      Where capture tasks (one per DAQ source, i.e. REB) run: 'local' worker
      processes of the CSC (their number is 'workers'), or 'redis':
      run_archiver_worker processes on any hosts, which take the tasks from a
      Redis Streams consumer group, write the files into the staging directory
      (a file system shared with the CSC) and report on a results stream.
    type: object
    additionalProperties: false
    required: [backend, redis_url, task_stream, result_stream, worker_group, result_group, lease, no_worker_timeout]
    properties:
      backend:
        description: >-
          'local' (the embedded default: a process pool in the CSC's host) or
          'redis' (run_archiver_worker processes; the settings below).
        type: string
        enum: [local, redis]
      redis_url:
        description: Redis URL of the capture queue (redis://host:port/db); used with backend 'redis'.
        type: string
        minLength: 1
      task_stream:
        description: >-
          Redis stream of the capture tasks (one Archiver's own; the workers'
          --task-stream). Heartbeat keys of the workers are '<task_stream>:worker:<name>'.
        type: string
        minLength: 1
      result_stream:
        description: Redis stream the workers add their outcomes to (the workers' --result-stream).
        type: string
        minLength: 1
      worker_group:
        description: Consumer group of the capture workers on task_stream (the workers' --worker-group).
        type: string
        minLength: 1
      result_group:
        description: Consumer group of the CSC on result_stream.
        type: string
        minLength: 1
      lease:
        description: >-
          Seconds a worker may stay silent (no heartbeat) before another worker
          reclaims its task (XAUTOCLAIM) and before it counts as lost; the
          workers' --lease. Workers renew every third of it.
        type: number
        exclusiveMinimum: 0
      no_worker_timeout:
        description: >-
          Seconds capture tasks may wait with no live worker (or Redis
          unreachable) before the CSC goes to FAULT (NO_CAPTURE_WORKER).
        type: number
        exclusiveMinimum: 0
  cleanup:
    description: >-
      Expiry of old files: the staging directories of archived images, and the
      raws of the OODS destinations' Butler repositories (the OODS is a cache).
    type: object
    additionalProperties: false
    required: [enabled, retention, oods_retention, interval]
    properties:
      enabled:
        description: Run the cleanup passes (staging and OODS).
        type: boolean
      retention:
        description: Hours an archived image's staging files are kept.
        type: number
        minimum: 0
      oods_retention:
        description: >-
          Hours after ingest a raw is kept in each OODS repository (datasets also
          in a TAGGED collection are kept); 0 disables the OODS cleanup.
        type: number
        minimum: 0
      interval:
        description: Seconds between cleanup passes.
        type: number
        exclusiveMinimum: 0
  catch_up:
    description: >-
      Catch-up: images in the DAQ store that the normal path missed, found by
      comparing the DAQ catalog, the ledger and the archive destinations'
      Butler registries; by the catchUp command, and continuously if enabled.
    type: object
    additionalProperties: false
    required: [rate, priority, continuous, interval, concurrency, stale_after]
    properties:
      rate:
        description: Most images per minute queued by catch-up, so live images keep priority.
        type: number
        exclusiveMinimum: 0
      priority:
        description: Delivery priority of catch-up images (live images use 0; higher goes first).
        type: integer
      continuous:
        description: >-
          While ENABLED, compare the three sources every `interval` seconds and
          catch up on every image of the DAQ catalog that needs it (no command needed).
        type: boolean
      interval:
        description: Seconds between continuous catch-up passes (and catchUpStatus events).
        type: number
        exclusiveMinimum: 0
      concurrency:
        description: Most catch-up images captured at once (live images are never held back).
        type: integer
        minimum: 1
        maximum: 16
      stale_after:
        description: >-
          Seconds after which an image the ledger shows unfinished, with nothing
          failed, is taken by catch-up (a run that stopped left it); younger ones
          are in progress and left alone.
        type: number
        exclusiveMinimum: 0
"""


def _build_schema() -> dict[str, Any]:
    schema: dict[str, Any] = yaml.safe_load(_SCHEMA_YAML)
    destination = copy.deepcopy(DESTINATION_SCHEMA)
    for key in ("$schema", "$id"):
        destination.pop(key, None)
    schema["properties"]["destinations"]["items"] = destination
    return schema


CONFIG_SCHEMA: dict[str, Any] = _build_schema()
"""The draft-07 configuration schema (title ``Archiver v1``), as a dict."""
