"""Test support shipped with ts_archiver, for its tests and benchmarks (as
ts_salobj ships its test helpers).

One concept per module:

* `STD_TIMEOUT`, `wait_until`, `wait_until_sync` (from `lsst.ts.salkit`, where
  every test of both namespaces gets them);
* `servers`: throwaway PostgreSQL and SeaweedFS (S3) servers on free loopback
  ports, and the Kafka stack of `lsst.ts.salkit.kafka.local_stack`;
* `headers`: realistic raw primary headers (`make_primary_header`);
* `raws`: small raw files, sidecars and exposures on a staging disk;
* `exposure_inputs`: camera pixels and exposure metadata for the FITS writer;
* `fits_validation`: ``fitsverify`` and astropy checksum checks;
* `event_log`: every sample of an Archiver's result topics (`EventLog`);
* `archiver`: a running Archiver CSC and its configuration directory.

The pytest fixtures are in `lsst.ts.archiver.testing.fixtures`, a pytest
plugin that is not imported here: this package imports without pytest.
"""

from lsst.ts.salkit.wait import STD_TIMEOUT, wait_until, wait_until_sync  # noqa: F401

from .archiver import *  # noqa: F403
from .event_log import *  # noqa: F403
from .exposure_inputs import *  # noqa: F403
from .fits_validation import *  # noqa: F403
from .headers import *  # noqa: F403
from .raws import *  # noqa: F403
from .servers import *  # noqa: F403
