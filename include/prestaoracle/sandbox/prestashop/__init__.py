"""A PrestaShop 8.1.2 webservice emulator held to recorded real traffic."""
