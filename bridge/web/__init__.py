"""The local HTTP API: the Flask app factory, its guards, the /v1 routes and their OpenAPI document."""
