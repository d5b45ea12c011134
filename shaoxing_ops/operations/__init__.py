"""Operations (运维): host monitoring, resource assessment, patch status, the problem feedback register.

Plain Python over psutil and SQLAlchemy, no Dagster: the Dagster wiring and the command line call these.
"""
