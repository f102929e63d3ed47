"""lsst.ts.salkit: a SAL toolkit with the API shape of ts_salobj v8."""
