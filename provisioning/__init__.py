"""Enrolment by claim code, device config and credentials, install onto a Pi."""
