-- mapdb benchmark: filtered top-N (ties broken by key so results compare row for row).
select
	l_orderkey,
	l_linenumber,
	l_extendedprice,
	l_shipdate
from
	lineitem
where
	l_shipdate >= date '1997-01-01'
	and l_discount > 0.05
order by
	l_extendedprice desc,
	l_orderkey,
	l_linenumber
limit 10;
