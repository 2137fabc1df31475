"""pandas reconciliations, pure functions over DataFrames, no I/O: each module compares what two systems hold for
one kind of record (inventory, prices, customers, payments) and says what differs and what to do about it. The flows
in ``prestaoracle.flows`` read the staging tables into frames, call these functions and do the writing, so every
rule here can be tested on small hand-built frames."""
