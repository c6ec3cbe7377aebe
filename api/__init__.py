"""pilotkg web service (installed as ``pilotkg.api``): REST API, SPARQL endpoint, portal page."""
