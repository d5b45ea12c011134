"""数据局上报: the 14 tables reported to the city Data Bureau, built from the front tables."""
