"""Outcomes and the reports made of them: JSON, console, JUnit, HTML, progress."""
