-- mapdb benchmark: group by a date part.
select
	extract(year from l_shipdate) as ship_year,
	sum(l_extendedprice * (1 - l_discount)) as revenue,
	count(*) as lines
from
	lineitem
group by
	extract(year from l_shipdate)
order by
	ship_year;
