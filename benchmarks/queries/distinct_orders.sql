-- mapdb benchmark: COUNT(DISTINCT) over a high-cardinality integer key.
select
	count(distinct l_orderkey) as orders
from
	lineitem
where
	l_returnflag = 'R';
