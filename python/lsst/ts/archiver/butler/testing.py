from lsst.ts.archiver.testing import TemporaryPostgres, write_raw_file  # noqa: F401  re-export until tests/archiver/delivery and ledger are migrated
