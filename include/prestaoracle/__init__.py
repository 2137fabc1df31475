"""PrestaShop ⇄ Oracle ERP integration on Apache Airflow."""

__version__ = "0.1.0"
