"""Tests of the device managers (``gateway.devices``)."""
