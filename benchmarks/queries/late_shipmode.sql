-- mapdb benchmark: filtered count grouped by a low-cardinality string column.
select
	l_shipmode,
	count(*) as late_lines
from
	lineitem
where
	l_receiptdate > l_commitdate
	and l_shipdate >= date '1995-01-01'
group by
	l_shipmode
order by
	l_shipmode;
