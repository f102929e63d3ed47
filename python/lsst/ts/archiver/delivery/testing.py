from lsst.ts.archiver.testing.servers import TemporarySeaweedFS  # noqa: F401  re-export until tests/archiver/delivery and ledger are migrated
