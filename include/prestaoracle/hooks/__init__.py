"""Airflow hooks with their own connection types, so the UI offers a proper form for each system."""
