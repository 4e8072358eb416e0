"""Public transport: imported GTFS feeds, lines entered by hand, and the feed export.

The «Transporte» page and ``revincula transit import|export|lines|remove``;
the travel model of the mode «transporte público» is built by
`geo_app.travel.transit_model` from what is stored here.
"""
