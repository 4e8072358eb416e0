"""Pure domain and data layers of Revincula (GeoDataFrames in and out; no Flask)."""
