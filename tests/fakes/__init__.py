"""Test doubles and data builders shared by the tests (one place; import as ``fakes.<module>``)."""
