"""省局数据下发: the provincial tables, loaded day by day into the front database."""
