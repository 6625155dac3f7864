"""Helpers the tests share: loopback servers, the long synthetic report, sample texts and ETL
input rows. Nothing here is a test or a fixture (fixtures live in ``tests/conftest.py``)."""
