"""The embedded AWS stack for development and tests: moto server, Lambda event sources, traffic."""
