"""Operations (运维): host monitoring, resource assessment, patch status, and the contract's registers: problem
feedback, catalog data applications, security notices and patches, consultations.

Plain Python over psutil and SQLAlchemy, no Dagster: the Dagster wiring and the command line call these.
"""
