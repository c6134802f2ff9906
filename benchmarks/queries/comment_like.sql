-- mapdb benchmark: substring predicate on a high-cardinality string column.
select
	l_shipinstruct,
	count(*) as lines,
	sum(l_quantity) as qty
from
	lineitem
where
	l_comment like '%furiously%'
group by
	l_shipinstruct
order by
	l_shipinstruct;
