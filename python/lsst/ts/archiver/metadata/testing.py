from lsst.ts.archiver.testing.headers import make_primary_header  # noqa: F401  re-export until tests/archiver/delivery and ledger are migrated
