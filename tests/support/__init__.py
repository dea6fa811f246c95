"""Test support code (local simulators and helpers) shared by the test suites."""
