"""TPC-DS-shaped data: the 24 tables of the TPC-DS schema as Parquet, generated with numpy.

    python -m datasets.tpcds --scale 1 --out DIR      # store_sales ~2.9M rows, ~30 s
    python -m datasets.tpcds --scale 0.01 --out DIR   # a few seconds, for tests

Not dsdgen (which cannot be had here) and not its data: a generator of the same shape, so
the 99 TPC-DS queries (benchmarks/queries/tpcds/) run over it and their filters select
rows. What it keeps from the specification:

- every table and column with its name and type (as DuckDB's tpcds extension declares
  them: BIGINT keys and counts, DECIMAL(7,2) money, DECIMAL(5,2) offsets and rates);
- surrogate keys 1..N, and 16-character business ids ("AAAAAAAAB...") shared by the two
  revisions of a slowly changing item, store, call center, web page and web site;
- date_dim from d_date_sk 2415022 = 1900-01-02 for 73,049 days with consistent d_year,
  d_moy, d_dom, d_qoy, d_month_seq (1200 = January 2000), d_week_seq, d_quarter_name...,
  and time_dim's 86,400 seconds;
- the domains the queries' literals filter on (categories, classes, brands, colors,
  units, sizes, states, counties, cities, zip codes, demographics' cross products,
  buy potentials, carriers, store names 'ese' ...), sales from 1998-01-02 to 2003-01-02;
- sales as tickets/orders of several lines (distinct items, one customer, date, store or
  call center per ticket), measures derived as dsdgen does (quantity x price, discounts,
  tax, net paid, profit), returns a ~10% subset of the sales lines (same item and ticket
  or order number, returned after the sale), ~4% NULL foreign keys and ~2% NULL measures;
- store_sales ~2.88M rows at scale 1, catalog_sales half that, web_sales a quarter,
  inventory ~2.9M (a quarter of the items of the specification's 11.7M).

Dimensions grow with the square root of the scale (item 18,000, customer 100,000 at
scale 1), facts linearly. The same scale and seed give the same files.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

# Column types: i BIGINT, n INTEGER, s VARCHAR, d DATE, m DECIMAL(7,2), g DECIMAL(5,2),
# c DECIMAL(15,2).
SCHEMA_TEXT = """
call_center cc_call_center_sk:i cc_call_center_id:s cc_rec_start_date:d cc_rec_end_date:d
 cc_closed_date_sk:i cc_open_date_sk:i cc_name:s cc_class:s cc_employees:i cc_sq_ft:i
 cc_hours:s cc_manager:s cc_mkt_id:i cc_mkt_class:s cc_mkt_desc:s cc_market_manager:s
 cc_division:i cc_division_name:s cc_company:i cc_company_name:s cc_street_number:s
 cc_street_name:s cc_street_type:s cc_suite_number:s cc_city:s cc_county:s cc_state:s
 cc_zip:s cc_country:s cc_gmt_offset:g cc_tax_percentage:g
catalog_page cp_catalog_page_sk:i cp_catalog_page_id:s cp_start_date_sk:i cp_end_date_sk:i
 cp_department:s cp_catalog_number:i cp_catalog_page_number:i cp_description:s cp_type:s
catalog_returns cr_returned_date_sk:i cr_returned_time_sk:i cr_item_sk:i
 cr_refunded_customer_sk:i cr_refunded_cdemo_sk:i cr_refunded_hdemo_sk:i
 cr_refunded_addr_sk:i cr_returning_customer_sk:i cr_returning_cdemo_sk:i
 cr_returning_hdemo_sk:i cr_returning_addr_sk:i cr_call_center_sk:i cr_catalog_page_sk:i
 cr_ship_mode_sk:i cr_warehouse_sk:i cr_reason_sk:i cr_order_number:i cr_return_quantity:i
 cr_return_amount:m cr_return_tax:m cr_return_amt_inc_tax:m cr_fee:m cr_return_ship_cost:m
 cr_refunded_cash:m cr_reversed_charge:m cr_store_credit:m cr_net_loss:m
catalog_sales cs_sold_date_sk:i cs_sold_time_sk:i cs_ship_date_sk:i cs_bill_customer_sk:i
 cs_bill_cdemo_sk:i cs_bill_hdemo_sk:i cs_bill_addr_sk:i cs_ship_customer_sk:i
 cs_ship_cdemo_sk:i cs_ship_hdemo_sk:i cs_ship_addr_sk:i cs_call_center_sk:i
 cs_catalog_page_sk:i cs_ship_mode_sk:i cs_warehouse_sk:i cs_item_sk:i cs_promo_sk:i
 cs_order_number:i cs_quantity:i cs_wholesale_cost:m cs_list_price:m cs_sales_price:m
 cs_ext_discount_amt:m cs_ext_sales_price:m cs_ext_wholesale_cost:m cs_ext_list_price:m
 cs_ext_tax:m cs_coupon_amt:m cs_ext_ship_cost:m cs_net_paid:m cs_net_paid_inc_tax:m
 cs_net_paid_inc_ship:m cs_net_paid_inc_ship_tax:m cs_net_profit:m
customer c_customer_sk:i c_customer_id:s c_current_cdemo_sk:i c_current_hdemo_sk:i
 c_current_addr_sk:i c_first_shipto_date_sk:i c_first_sales_date_sk:i c_salutation:s
 c_first_name:s c_last_name:s c_preferred_cust_flag:s c_birth_day:i c_birth_month:i
 c_birth_year:i c_birth_country:s c_login:s c_email_address:s c_last_review_date_sk:n
customer_address ca_address_sk:i ca_address_id:s ca_street_number:s ca_street_name:s
 ca_street_type:s ca_suite_number:s ca_city:s ca_county:s ca_state:s ca_zip:s ca_country:s
 ca_gmt_offset:g ca_location_type:s
customer_demographics cd_demo_sk:i cd_gender:s cd_marital_status:s cd_education_status:s
 cd_purchase_estimate:i cd_credit_rating:s cd_dep_count:i cd_dep_employed_count:i
 cd_dep_college_count:n
date_dim d_date_sk:i d_date_id:s d_date:d d_month_seq:i d_week_seq:i d_quarter_seq:i
 d_year:i d_dow:i d_moy:i d_dom:i d_qoy:i d_fy_year:i d_fy_quarter_seq:i d_fy_week_seq:i
 d_day_name:s d_quarter_name:s d_holiday:s d_weekend:s d_following_holiday:s d_first_dom:i
 d_last_dom:i d_same_day_ly:i d_same_day_lq:i d_current_day:s d_current_week:s
 d_current_month:s d_current_quarter:s d_current_year:s
household_demographics hd_demo_sk:i hd_income_band_sk:i hd_buy_potential:s hd_dep_count:i
 hd_vehicle_count:n
income_band ib_income_band_sk:i ib_lower_bound:i ib_upper_bound:n
inventory inv_date_sk:i inv_item_sk:i inv_warehouse_sk:i inv_quantity_on_hand:n
item i_item_sk:i i_item_id:s i_rec_start_date:d i_rec_end_date:d i_item_desc:s
 i_current_price:m i_wholesale_cost:m i_brand_id:i i_brand:s i_class_id:i i_class:s
 i_category_id:i i_category:s i_manufact_id:i i_manufact:s i_size:s i_formulation:s
 i_color:s i_units:s i_container:s i_manager_id:i i_product_name:s
promotion p_promo_sk:i p_promo_id:s p_start_date_sk:i p_end_date_sk:i p_item_sk:i p_cost:c
 p_response_target:i p_promo_name:s p_channel_dmail:s p_channel_email:s p_channel_catalog:s
 p_channel_tv:s p_channel_radio:s p_channel_press:s p_channel_event:s p_channel_demo:s
 p_channel_details:s p_purpose:s p_discount_active:s
reason r_reason_sk:i r_reason_id:s r_reason_desc:s
ship_mode sm_ship_mode_sk:i sm_ship_mode_id:s sm_type:s sm_code:s sm_carrier:s sm_contract:s
store s_store_sk:i s_store_id:s s_rec_start_date:d s_rec_end_date:d s_closed_date_sk:i
 s_store_name:s s_number_employees:i s_floor_space:i s_hours:s s_manager:s s_market_id:i
 s_geography_class:s s_market_desc:s s_market_manager:s s_division_id:i s_division_name:s
 s_company_id:i s_company_name:s s_street_number:s s_street_name:s s_street_type:s
 s_suite_number:s s_city:s s_county:s s_state:s s_zip:s s_country:s s_gmt_offset:g
 s_tax_percentage:g
store_returns sr_returned_date_sk:i sr_return_time_sk:i sr_item_sk:i sr_customer_sk:i
 sr_cdemo_sk:i sr_hdemo_sk:i sr_addr_sk:i sr_store_sk:i sr_reason_sk:i sr_ticket_number:i
 sr_return_quantity:i sr_return_amt:m sr_return_tax:m sr_return_amt_inc_tax:m sr_fee:m
 sr_return_ship_cost:m sr_refunded_cash:m sr_reversed_charge:m sr_store_credit:m
 sr_net_loss:m
store_sales ss_sold_date_sk:i ss_sold_time_sk:i ss_item_sk:i ss_customer_sk:i ss_cdemo_sk:i
 ss_hdemo_sk:i ss_addr_sk:i ss_store_sk:i ss_promo_sk:i ss_ticket_number:i ss_quantity:i
 ss_wholesale_cost:m ss_list_price:m ss_sales_price:m ss_ext_discount_amt:m
 ss_ext_sales_price:m ss_ext_wholesale_cost:m ss_ext_list_price:m ss_ext_tax:m
 ss_coupon_amt:m ss_net_paid:m ss_net_paid_inc_tax:m ss_net_profit:m
time_dim t_time_sk:i t_time_id:s t_time:i t_hour:i t_minute:i t_second:i t_am_pm:s t_shift:s
 t_sub_shift:s t_meal_time:s
warehouse w_warehouse_sk:i w_warehouse_id:s w_warehouse_name:s w_warehouse_sq_ft:i
 w_street_number:s w_street_name:s w_street_type:s w_suite_number:s w_city:s w_county:s
 w_state:s w_zip:s w_country:s w_gmt_offset:g
web_page wp_web_page_sk:i wp_web_page_id:s wp_rec_start_date:d wp_rec_end_date:d
 wp_creation_date_sk:i wp_access_date_sk:i wp_autogen_flag:s wp_customer_sk:i wp_url:s
 wp_type:s wp_char_count:i wp_link_count:i wp_image_count:i wp_max_ad_count:n
web_returns wr_returned_date_sk:i wr_returned_time_sk:i wr_item_sk:i
 wr_refunded_customer_sk:i wr_refunded_cdemo_sk:i wr_refunded_hdemo_sk:i
 wr_refunded_addr_sk:i wr_returning_customer_sk:i wr_returning_cdemo_sk:i
 wr_returning_hdemo_sk:i wr_returning_addr_sk:i wr_web_page_sk:i wr_reason_sk:i
 wr_order_number:i wr_return_quantity:i wr_return_amt:m wr_return_tax:m
 wr_return_amt_inc_tax:m wr_fee:m wr_return_ship_cost:m wr_refunded_cash:m
 wr_reversed_charge:m wr_account_credit:m wr_net_loss:m
web_sales ws_sold_date_sk:i ws_sold_time_sk:i ws_ship_date_sk:i ws_item_sk:i
 ws_bill_customer_sk:i ws_bill_cdemo_sk:i ws_bill_hdemo_sk:i ws_bill_addr_sk:i
 ws_ship_customer_sk:i ws_ship_cdemo_sk:i ws_ship_hdemo_sk:i ws_ship_addr_sk:i
 ws_web_page_sk:i ws_web_site_sk:i ws_ship_mode_sk:i ws_warehouse_sk:i ws_promo_sk:i
 ws_order_number:i ws_quantity:i ws_wholesale_cost:m ws_list_price:m ws_sales_price:m
 ws_ext_discount_amt:m ws_ext_sales_price:m ws_ext_wholesale_cost:m ws_ext_list_price:m
 ws_ext_tax:m ws_coupon_amt:m ws_ext_ship_cost:m ws_net_paid:m ws_net_paid_inc_tax:m
 ws_net_paid_inc_ship:m ws_net_paid_inc_ship_tax:m ws_net_profit:m
web_site web_site_sk:i web_site_id:s web_rec_start_date:d web_rec_end_date:d web_name:s
 web_open_date_sk:i web_close_date_sk:i web_class:s web_manager:s web_mkt_id:i
 web_mkt_class:s web_mkt_desc:s web_market_manager:s web_company_id:i web_company_name:s
 web_street_number:s web_street_name:s web_street_type:s web_suite_number:s web_city:s
 web_county:s web_state:s web_zip:s web_country:s web_gmt_offset:g web_tax_percentage:g
"""

_TYPES = {"i": pa.int64(), "n": pa.int32(), "s": pa.string(), "d": pa.date32(),
          "m": pa.decimal128(7, 2), "g": pa.decimal128(5, 2), "c": pa.decimal128(15, 2)}


def _parse_schema(text: str) -> dict[str, pa.Schema]:
    out, name, fields = {}, None, []
    for tok in text.split():
        if ":" in tok:
            col, code = tok.split(":")
            fields.append(pa.field(col, _TYPES[code]))
            continue
        if name:
            out[name] = pa.schema(fields)
        name, fields = tok, []
    out[name] = pa.schema(fields)
    return out


SCHEMA = _parse_schema(SCHEMA_TEXT)
TABLES = sorted(SCHEMA)

# -- domains (the values the 99 queries' literals look for, and their neighbours) ----------

FIRST_DATE_SK = 2415022  # 1900-01-02
DATE_ROWS = 73049
EPOCH = dt.date(1900, 1, 2)
SALES_FIRST = dt.date(1998, 1, 2)
SALES_LAST = dt.date(2003, 1, 2)

CATEGORIES = {  # i_category -> its classes (i_class_id is the position, from 1)
    "Women": ["dresses", "fragrances", "maternity", "swimwear"],
    "Men": ["accessories", "pants", "shirts", "sports-apparel"],
    "Children": ["infants", "newborn", "school-uniforms", "toddlers"],
    "Shoes": ["athletic", "kids", "mens", "womens"],
    "Music": ["classical", "country", "pop", "rock"],
    "Books": ["arts", "business", "computers", "cooking", "entertainments", "fiction",
              "history", "home repair", "mystery", "parenting", "reference", "romance",
              "science", "self-help", "sports", "travel"],
    "Home": ["accent", "bathroom", "bedding", "blinds/shades", "curtains/drapes", "decor",
             "flatware", "furniture", "glassware", "kids", "lighting", "mattresses",
             "paint", "rugs", "tables", "wallpaper"],
    "Sports": ["archery", "athletic shoes", "baseball", "basketball", "camping", "fishing",
               "fitness", "football", "golf", "guns", "hockey", "optics", "outdoor",
               "pools", "sailing", "tennis"],
    "Electronics": ["audio", "automotive", "cameras", "camcorders", "disk drives",
                    "dvd/vcr players", "karoke", "memory", "monitors", "musical",
                    "personal", "portable", "scanners", "stereo", "televisions",
                    "wireless"],
    "Jewelry": ["birdal", "bracelets", "costume", "custom", "diamonds", "earings", "estate",
                "gold", "jewelry boxes", "loose stones", "mens watch", "pendants", "rings",
                "semi-precious", "womens watch"],
}
SYLLABLES = ["ought", "able", "pri", "ese", "anti", "cally", "ation", "eing", "bar", "n st"]
BRAND_PARTS = ["amalg", "edu pack", "exporti", "importo", "scholar", "univ", "corp", "brand",
               "maxi", "nameless"]
COLORS = ["almond", "antique", "aquamarine", "azure", "beige", "bisque", "black", "blanched",
          "blue", "blush", "brown", "burlywood", "burnished", "chartreuse", "chiffon",
          "chocolate", "coral", "cornflower", "cornsilk", "cream", "cyan", "dark", "deep",
          "dim", "dodger", "drab", "firebrick", "floral", "forest", "frosted", "gainsboro",
          "ghost", "goldenrod", "green", "grey", "honeydew", "hot", "indian", "ivory",
          "khaki", "lace", "lavender", "lawn", "lemon", "light", "lime", "linen", "magenta",
          "maroon", "medium", "metallic", "midnight", "mint", "misty", "moccasin", "navajo",
          "navy", "olive", "orange", "orchid", "pale", "papaya", "peach", "peru", "pink",
          "plum", "powder", "puff", "purple", "red", "rose", "rosy", "royal", "saddle",
          "salmon", "sandy", "seashell", "sienna", "sky", "slate", "smoke", "snow", "spring",
          "steel", "tan", "thistle", "tomato", "turquoise", "violet", "wheat", "white",
          "yellow"]
UNITS = ["Box", "Bunch", "Bundle", "Carton", "Case", "Cup", "Dozen", "Dram", "Each", "Gram",
         "Gross", "Lb", "N/A", "Ounce", "Oz", "Pallet", "Pound", "Tbl", "Ton", "Tsp",
         "Unknown"]
SIZES = ["small", "medium", "large", "extra large", "petite", "economy", "N/A"]
GENDERS = ["M", "F"]
MARITAL = ["M", "S", "D", "W", "U"]
EDUCATION = ["Primary", "Secondary", "College", "2 yr Degree", "4 yr Degree",
             "Advanced Degree", "Unknown"]
CREDIT = ["Good", "Low Risk", "High Risk", "Unknown"]
BUY_POTENTIAL = [">10000", "5001-10000", "1001-5000", "501-1000", "0-500", "Unknown"]
# state -> gmt offset; the first ones weigh more, as populous states do in dsdgen's data
STATES = {"TX": -6, "GA": -5, "VA": -5, "KY": -5, "MO": -6, "IL": -6, "OH": -5, "IN": -5,
          "TN": -5, "NC": -5, "IA": -6, "MI": -5, "MS": -6, "NE": -6, "WI": -6, "KS": -6,
          "MN": -6, "PA": -5, "OK": -6, "AR": -6, "NY": -5, "CA": -8, "FL": -5, "LA": -6,
          "AL": -6, "CO": -7, "SD": -6, "WV": -5, "ND": -6, "MT": -7, "SC": -5, "NM": -7,
          "WA": -8, "OR": -8, "ID": -7, "NJ": -5, "UT": -7, "ME": -5, "MD": -5, "MA": -5,
          "NV": -8, "AZ": -7, "WY": -7, "VT": -5, "NH": -5, "CT": -5, "AK": -9, "HI": -10,
          "DE": -5, "RI": -5, "DC": -5}
COUNTIES = ["Williamson County", "Franklin Parish", "Bronx County", "Orange County",
            "Walker County", "Ziebach County", "Fairfield County", "Jackson County",
            "Lincoln County", "Barrow County", "Luce County", "Richland County",
            "Huron County", "Daviess County", "Dona Ana County", "Jefferson County",
            "La Porte County", "Rush County", "Toole County", "Wadena County",
            "Mobile County", "Marion County", "Perry County", "Salem County"]
CITIES = ["Midway", "Fairview", "Oak Grove", "Five Points", "Pleasant Hill", "Centerville",
          "Riverside", "Mount Zion", "Oakland", "Greenwood", "Springdale", "Union",
          "Edgewood", "Glendale", "Antioch", "Shiloh", "Liberty", "Bethel", "Clinton",
          "Georgetown", "Salem", "Woodville", "Spring Hill", "Lakeview", "Marion",
          "Summit", "Highland", "Newport", "Hamilton", "Sulphur Springs"]
STREET_NAMES = ["Main", "Oak", "Park", "Maple", "Elm", "Cedar", "Pine", "Hill", "Lake",
                "Washington", "Lincoln", "Jackson", "Church", "Spring", "Ridge", "Forest",
                "Walnut", "Sunset", "Highland", "Johnson", "Smith", "Wilson", "Center",
                "First", "Second", "Third", "Fourth", "Fifth", "Sixth", "Seventh"]
STREET_TYPES = ["Street", "Ave", "Blvd", "Road", "Lane", "Drive", "Court", "Way", "Parkway",
                "Circle", "Boulevard", "Pkwy", "Cir.", "RD", "Dr.", "Ln", "ST", "Wy"]
FIRST_NAMES = ["James", "John", "Robert", "Michael", "William", "David", "Richard", "Mary",
               "Patricia", "Linda", "Barbara", "Elizabeth", "Jennifer", "Maria", "Susan",
               "Margaret", "Dorothy", "Lisa", "Charles", "Joseph", "Thomas", "Daniel",
               "Paul", "Mark", "Donald", "George", "Kenneth", "Steven", "Edward", "Brian",
               "Nancy", "Karen", "Betty", "Helen", "Sandra", "Donna", "Carol", "Ruth"]
LAST_NAMES = ["Smith", "Johnson", "Williams", "Jones", "Brown", "Davis", "Miller", "Wilson",
              "Moore", "Taylor", "Anderson", "Thomas", "Jackson", "White", "Harris", "Martin",
              "Thompson", "Garcia", "Martinez", "Robinson", "Clark", "Rodriguez", "Lewis",
              "Lee", "Walker", "Hall", "Allen", "Young", "Hernandez", "King", "Wright",
              "Lopez", "Hill", "Scott", "Green", "Adams", "Baker", "Gonzalez", "Nelson"]
COUNTRIES = ["UNITED STATES", "CANADA", "MEXICO", "GERMANY", "FRANCE", "JAPAN", "CHINA",
             "INDIA", "BRAZIL", "ITALY", "SPAIN", "NETHERLANDS", "SWEDEN", "NORWAY", "PERU",
             "CHILE", "EGYPT", "KENYA", "AUSTRALIA", "NEW ZEALAND", "PORTUGAL", "GREECE"]
CARRIERS = ["UPS", "FEDEX", "AIRBORNE", "USPS", "DHL", "TBS", "ZHOU", "ZOUROS", "MSC",
            "LATVIAN", "ALLIANCE", "ORIENTAL", "BARIAN", "BOXBUNDLES", "GREAT EASTERN",
            "DIAMOND", "RUPEKSA", "GERMA", "HARMSTORF", "PRIVATECARRIER"]
SHIP_TYPES = ["REGULAR", "EXPRESS", "NEXT DAY", "OVERNIGHT", "TWO DAY", "LIBRARY"]
MANAGERS = [f"{a} {b}" for a in FIRST_NAMES[:8] for b in LAST_NAMES[:8]]
DAY_NAMES = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
# the zip codes of q08/q15/q45's lists, so their IN filters find customers (3% of the
# addresses: more and s_zip = ca_zip (q24) matches dozens of addresses a store)
QUERY_ZIPS = [10144, 10336, 10390, 10445, 10516, 10567, 11101, 11356, 11376, 11489, 11634,
              11928, 12305, 13354, 13375, 13376, 13394, 13595, 13695, 13955, 14060, 14089,
              14171, 14328, 14663, 14867, 14922, 15126, 15146, 15371, 15455, 15559, 15723,
              15734, 15765, 15798, 15882, 16021, 16725, 16807, 17043, 17183, 17871, 17879,
              17920, 18119, 18270, 18376, 18383, 18426, 18652, 18767, 18799, 18840, 18842,
              18845, 18906, 19430, 19505, 19512, 19515, 19736, 19769, 19849, 20004, 20260,
              20548, 21076, 21195, 21286, 21309, 21337, 21756, 22152, 22245, 22246, 22351,
              85669, 85392, 85460, 86197, 86475, 88274, 83405, 86475, 85392, 85460, 80348,
              81792, 30010, 30122, 31016, 35258, 56240, 60576, 61265, 62377, 63089, 67030]

ROWS_SF1 = {  # facts (linear in scale) and dimensions (by sqrt(scale), at least MIN_ROWS)
    "store_sales": 2_880_000, "catalog_sales": 1_440_000, "web_sales": 720_000,
    "item": 18_000, "customer": 100_000, "customer_address": 50_000,
    "catalog_page": 11_718, "promotion": 300, "web_page": 60, "web_site": 30, "store": 12,
    "call_center": 6, "warehouse": 5}
MIN_ROWS = {"item": 400, "customer": 2_000, "customer_address": 1_000, "catalog_page": 200,
            "promotion": 30, "web_page": 10, "web_site": 6, "store": 4, "call_center": 2,
            "warehouse": 2}
FIXED_ROWS = {"date_dim": DATE_ROWS, "time_dim": 86_400, "reason": 35, "ship_mode": 20,
              "income_band": 20, "household_demographics": 7_200,
              "customer_demographics": 1_920_800}
FK_NULLS = 0.04
MEASURE_NULLS = 0.02


# -- helpers ------------------------------------------------------------------------------

def _sk(d: dt.date) -> int:
    return FIRST_DATE_SK + (d - EPOCH).days


def _bkeys(nums: np.ndarray) -> pa.Array:
    """dsdgen-style 16-character business ids: AAAAAAAA then the number in letters A-P."""
    letters = np.frombuffer(b"ABCDEFGHIJKLMNOP", np.uint8)
    nums = np.asarray(nums, np.int64)
    digits = (nums[:, None] >> (4 * np.arange(8))) & 15  # least significant first
    chars = np.concatenate([np.full((len(nums), 8), ord("A"), np.uint8), letters[digits]],
                           axis=1)
    return pa.array(chars.view("S16").ravel().astype(str))


def _pick(rng, pool, n: int, null: float = 0.0, p=None) -> pa.Array:
    idx = rng.choice(len(pool), n, p=p)
    return _take(pool, idx, _nulls(rng, n, null))


def _take(pool, idx, mask=None) -> pa.Array:
    idx = np.asarray(idx).astype(np.int64)
    return pa.array(pool, pa.string()).take(pa.array(idx, pa.int64(), mask=mask))


def _nulls(rng, n: int, frac: float):
    return rng.random(n) < frac if frac else None


def _int(values, mask=None, type_=None) -> pa.Array:
    type_ = type_ or pa.int64()
    return pa.array(np.asarray(values, np.int64), mask=mask).cast(type_)


def _dec(cents, mask=None, type_=None) -> pa.Array:
    """A decimal array from integer hundredths, built from its 16-byte values directly."""
    type_ = type_ or pa.decimal128(7, 2)
    cents = np.asarray(cents, np.int64)
    buf = np.empty((len(cents), 2), np.int64)
    buf[:, 0], buf[:, 1] = cents, cents >> 63
    valid = None if mask is None else pa.array(~mask).buffers()[1]
    return pa.Array.from_buffers(type_, len(cents), [valid, pa.py_buffer(buf.tobytes())])


def _dates(days_since_epoch, mask=None) -> pa.Array:
    base = (EPOCH - dt.date(1970, 1, 1)).days
    days = np.asarray(days_since_epoch, np.int32) + base
    return pa.array(days, pa.int32(), mask=mask).cast(pa.date32())


def _words(rng, n: int, k: int, pool=SYLLABLES) -> pa.Array:
    parts = rng.integers(0, len(pool), (n, k))
    return pa.array(["".join(pool[j] for j in row) for row in parts])


def _text(rng, n: int, words: int = 12) -> pa.Array:
    vocab = ["the", "quick", "brown", "fox", "jumps", "over", "lazy", "dogs", "able",
             "pieces", "special", "customers", "gold", "express", "instructions",
             "regular", "final", "deposits", "carefully", "bold", "ideas", "sleep",
             "quietly", "even", "requests", "above", "furiously", "slyly", "pending"]
    return _words(rng, n, words, [w + " " for w in vocab])


def _sks(rng, first_year: int, end_year: int, n: int) -> np.ndarray:
    """Date keys drawn from January 1 of ``first_year`` to December 31 before ``end_year``."""
    return rng.integers(_sk(dt.date(first_year, 1, 1)), _sk(dt.date(end_year, 1, 1)), n)


def _rows(table: str, scale: float) -> int:
    if table in FIXED_ROWS:
        return FIXED_ROWS[table]
    if table in ("store_sales", "catalog_sales", "web_sales"):
        return max(1000, round(ROWS_SF1[table] * scale))
    return max(MIN_ROWS[table], round(ROWS_SF1[table] * math.sqrt(scale)))


def _scd_ids(n: int):
    """Slowly changing dimensions: rows 2k-1 and 2k are two revisions of one business id,
    the first ending 2000-10-26, the second starting the day after (open-ended)."""
    sk = np.arange(1, n + 1)
    ids = _bkeys((sk + 1) // 2)
    first = sk % 2 == 1
    start = np.where(first, (dt.date(1997, 10, 27) - EPOCH).days,
                     (dt.date(2000, 10, 27) - EPOCH).days)
    end_days = (dt.date(2000, 10, 26) - EPOCH).days
    last_single = (sk == n) & first  # an odd count: the last row has one open revision
    return sk, ids, _dates(start), _dates(np.full(n, end_days), ~first | last_single)


def _address(rng, prefix: str, n: int, states=None) -> dict[str, pa.Array]:
    st = list(STATES) if states is None else states
    state_idx = rng.integers(0, len(st), n)
    return {f"{prefix}street_number": pa.array(rng.integers(1, 1000, n).astype(str)),
            f"{prefix}street_name": _pick(rng, STREET_NAMES, n),
            f"{prefix}street_type": _pick(rng, STREET_TYPES, n),
            f"{prefix}suite_number": pa.array([f"Suite {x}" for x in rng.integers(0, 500, n)]),
            f"{prefix}city": _pick(rng, CITIES[:2] if states else CITIES, n),
            f"{prefix}county": _pick(rng, COUNTIES[:1] if states else COUNTIES, n),
            f"{prefix}state": _take(st, state_idx),
            f"{prefix}zip": pa.array(rng.integers(30000, 40000, n).astype(str)),
            f"{prefix}country": pa.array(["United States"] * n),
            f"{prefix}gmt_offset": _dec(np.array([STATES[s] for s in st])[state_idx] * 100,
                                       type_=pa.decimal128(5, 2))}


# -- dimensions ---------------------------------------------------------------------------

def date_dim(rng, scale):
    days = np.arange(DATE_ROWS)
    d64 = np.datetime64(EPOCH) + days.astype("timedelta64[D]")
    y = d64.astype("datetime64[Y]").astype(int) + 1970
    m = d64.astype("datetime64[M]").astype(int) % 12 + 1
    dom = (d64 - d64.astype("datetime64[M]")).astype(int) + 1
    dow = (days + 2) % 7  # 1900-01-02 was a Tuesday; 0 = Sunday
    q = (m - 1) // 3 + 1
    sk = FIRST_DATE_SK + days
    week_seq = (days + 2) // 7 + 1  # weeks from Sunday 1899-12-31
    month_seq = (y - 1900) * 12 + m - 1
    quarter_seq = (y - 1900) * 4 + q
    first_dom = sk - dom + 1
    next_month = (d64.astype("datetime64[M]") + 1).astype("datetime64[D]")
    last_dom = sk + (next_month - d64).astype(int) - 1
    return {"d_date_sk": sk, "d_date_id": _bkeys(sk), "d_date": _dates(days),
            "d_month_seq": month_seq, "d_week_seq": week_seq, "d_quarter_seq": quarter_seq,
            "d_year": y, "d_dow": dow, "d_moy": m, "d_dom": dom, "d_qoy": q, "d_fy_year": y,
            "d_fy_quarter_seq": quarter_seq, "d_fy_week_seq": week_seq,
            "d_day_name": _take(DAY_NAMES, dow),
            "d_quarter_name": pa.array(np.char.add(np.char.add(y.astype(str), "Q"),
                                                   q.astype(str))),
            "d_holiday": _take(["N", "Y"], (m == 12) & (dom == 25) | (m == 1) & (dom == 1)),
            "d_weekend": _take(["N", "Y"], (dow == 0) | (dow == 6)),
            "d_following_holiday": _take(["N", "Y"], (m == 12) & (dom == 26)),
            "d_first_dom": first_dom, "d_last_dom": last_dom, "d_same_day_ly": sk - 365,
            "d_same_day_lq": sk - 91,
            **{f"d_current_{k}": _take(["N", "Y"], np.zeros(DATE_ROWS, int))
               for k in ("day", "week", "month", "quarter", "year")}}


def time_dim(rng, scale):
    t = np.arange(86_400)
    h = t // 3600
    meal = np.select([(h >= 6) & (h <= 9), (h >= 11) & (h <= 13), (h >= 17) & (h <= 20)],
                     [0, 1, 2], 3)
    return {"t_time_sk": t, "t_time_id": _bkeys(t + 1), "t_time": t, "t_hour": h,
            "t_minute": t // 60 % 60, "t_second": t % 60, "t_am_pm": _take(["AM", "PM"], h >= 12),
            "t_shift": _take(["third", "first", "second"], h // 8),
            "t_sub_shift": _take(["night", "morning", "afternoon", "evening"], h // 6),
            "t_meal_time": _take(["breakfast", "lunch", "dinner"], np.minimum(meal, 2),
                                 meal == 3)}


def item(rng, scale):
    n = _rows("item", scale)
    sk, ids, start, end = _scd_ids(n)
    cats = list(CATEGORIES)
    cat = rng.integers(0, len(cats), n)
    cls = np.array([rng.integers(0, len(CATEGORIES[cats[c]])) for c in cat])
    brand_no = rng.integers(1, 11, n)
    parts = rng.integers(0, len(BRAND_PARTS), (n, 3))
    three = rng.random(n) < 0.2  # a fifth of the brands have three parts (scholaramalgamalg)
    brand = [BRAND_PARTS[a] + BRAND_PARTS[b] + (BRAND_PARTS[c] if t else "") + f" #{k}"
             for (a, b, c), t, k in zip(parts, three, brand_no, strict=True)]
    price = rng.integers(9, 10000, n)
    return {"i_item_sk": sk, "i_item_id": ids, "i_rec_start_date": start,
            "i_rec_end_date": end, "i_item_desc": _text(rng, n),
            "i_current_price": _dec(price, _nulls(rng, n, MEASURE_NULLS)),
            "i_wholesale_cost": _dec(price * rng.uniform(0.3, 0.9, n)),
            "i_brand_id": (cat + 1) * 1_000_000 + (cls + 1) * 1000 + brand_no,
            "i_brand": pa.array(brand), "i_class_id": cls + 1,
            "i_class": pa.array([CATEGORIES[cats[c]][k] for c, k in zip(cat, cls, strict=True)]),
            "i_category_id": cat + 1, "i_category": _take(cats, cat),
            "i_manufact_id": (manu := rng.integers(1, 1001, n)),
            "i_manufact": pa.array(["".join(SYLLABLES[int(d)] for d in f"{x:03d}"[-3:])
                                    for x in manu]),
            "i_size": _pick(rng, SIZES, n), "i_formulation": _words(rng, n, 4, list("0123456789")),
            "i_color": _pick(rng, COLORS, n), "i_units": _pick(rng, UNITS, n),
            "i_container": pa.array(["Unknown"] * n), "i_manager_id": rng.integers(1, 101, n),
            "i_product_name": _words(rng, n, 4)}


def customer_demographics(rng, scale):
    # the specification's cross product, gender varying fastest; small scales keep a prefix
    n = FIXED_ROWS["customer_demographics"]
    if scale < 1:
        n = max(2 * 5 * 7 * 20 * 4, round(n * scale))
    i = np.arange(n)
    dims = [2, 5, 7, 20, 4, 7, 7, 7]
    digits, rest = [], i
    for d in dims:
        digits.append(rest % d)
        rest = rest // d
    g, ms, ed, pe, cr, dc, de, dcol = digits
    return {"cd_demo_sk": i + 1, "cd_gender": _take(GENDERS, g),
            "cd_marital_status": _take(MARITAL, ms), "cd_education_status": _take(EDUCATION, ed),
            "cd_purchase_estimate": (pe + 1) * 500, "cd_credit_rating": _take(CREDIT, cr),
            "cd_dep_count": dc, "cd_dep_employed_count": de, "cd_dep_college_count": dcol}


def household_demographics(rng, scale):
    i = np.arange(7200)
    return {"hd_demo_sk": i + 1, "hd_income_band_sk": i % 20 + 1,
            "hd_buy_potential": _take(BUY_POTENTIAL, i // 20 % 6),
            "hd_dep_count": i // 120 % 10, "hd_vehicle_count": i // 1200 % 6 - 1}


def income_band(rng, scale):
    i = np.arange(20)
    return {"ib_income_band_sk": i + 1, "ib_lower_bound": i * 10000 + (i > 0),
            "ib_upper_bound": (i + 1) * 10000}


def customer_address(rng, scale):
    n = _rows("customer_address", scale)
    sk = np.arange(1, n + 1)
    w = np.linspace(3, 1, len(STATES))
    cols = _address(rng, "ca_", n)
    st_idx = rng.choice(len(STATES), n, p=w / w.sum())
    st = list(STATES)
    cols["ca_state"] = _take(st, st_idx, _nulls(rng, n, FK_NULLS))
    cols["ca_gmt_offset"] = _dec(np.array(list(STATES.values()))[st_idx] * 100,
                                 _nulls(rng, n, FK_NULLS), pa.decimal128(5, 2))
    zips = np.where(rng.random(n) < 0.03, rng.choice(QUERY_ZIPS, n),
                    rng.integers(10000, 99999, n))
    cols["ca_zip"] = pa.array(np.char.zfill(zips.astype(str), 5))
    return {"ca_address_sk": sk, "ca_address_id": _bkeys(sk), **cols,
            "ca_location_type": _pick(rng, ["single family", "condo", "apartment"], n)}


def customer(rng, scale):
    n = _rows("customer", scale)
    sk = np.arange(1, n + 1)
    first = rng.integers(_sk(SALES_FIRST), _sk(SALES_LAST), n)
    n_cd = _rows("customer_demographics", scale)
    n_ca = _rows("customer_address", scale)
    fn = rng.integers(0, len(FIRST_NAMES), n)
    ln = rng.integers(0, len(LAST_NAMES), n)
    return {"c_customer_sk": sk, "c_customer_id": _bkeys(sk),
            "c_current_cdemo_sk": _int(rng.integers(1, n_cd + 1, n), _nulls(rng, n, FK_NULLS)),
            "c_current_hdemo_sk": _int(rng.integers(1, 7201, n), _nulls(rng, n, FK_NULLS)),
            "c_current_addr_sk": rng.integers(1, n_ca + 1, n),
            "c_first_shipto_date_sk": first + 30, "c_first_sales_date_sk": first,
            "c_salutation": _pick(rng, ["Mr.", "Mrs.", "Ms.", "Dr.", "Sir", "Miss"], n),
            "c_first_name": _take(FIRST_NAMES, fn, _nulls(rng, n, MEASURE_NULLS)),
            "c_last_name": _take(LAST_NAMES, ln, _nulls(rng, n, MEASURE_NULLS)),
            "c_preferred_cust_flag": _pick(rng, ["N", "Y"], n, MEASURE_NULLS),
            "c_birth_day": rng.integers(1, 29, n), "c_birth_month": rng.integers(1, 13, n),
            "c_birth_year": rng.integers(1924, 1993, n),
            "c_birth_country": _pick(rng, COUNTRIES, n, MEASURE_NULLS),
            "c_login": pa.nulls(n, pa.string()),
            "c_email_address": pa.array([f"{FIRST_NAMES[a]}.{LAST_NAMES[b]}@{k}.com"
                                         for a, b, k in zip(fn, ln, rng.integers(0, 9999, n),
                                                            strict=True)]),
            "c_last_review_date_sk": _int(rng.integers(_sk(dt.date(2002, 1, 1)),
                                                       _sk(dt.date(2003, 1, 1)), n),
                                          type_=pa.int32())}


def store(rng, scale):
    n = _rows("store", scale)
    sk, ids, start, end = _scd_ids(n)
    addr = _address(rng, "s_", n, states=["TN"])
    addr["s_state"] = _take(["TN", "GA"], (sk % 12 == 0).astype(int))  # most stores in TN
    addr["s_county"] = _take(COUNTIES[:4], np.where(sk % 5 == 0, sk % 4, 0))
    addr["s_zip"] = pa.array(rng.choice(QUERY_ZIPS, n).astype(str))
    return {"s_store_sk": sk, "s_store_id": ids, "s_rec_start_date": start,
            "s_rec_end_date": end, "s_closed_date_sk": _int(np.zeros(n), np.ones(n, bool)),
            "s_store_name": _take(SYLLABLES, (sk - 1) // 2 % len(SYLLABLES)),
            "s_number_employees": rng.integers(200, 301, n),
            "s_floor_space": rng.integers(5_000_000, 10_000_000, n),
            "s_hours": _pick(rng, ["8AM-4PM", "8AM-12AM", "8AM-8AM"], n),
            "s_manager": _pick(rng, MANAGERS, n),
            "s_market_id": rng.integers(1, 11, n), "s_geography_class": pa.array(["Unknown"] * n),
            "s_market_desc": _text(rng, n, 6),
            "s_market_manager": _pick(rng, [f"{a} {b}" for a in FIRST_NAMES[8:16]
                                            for b in LAST_NAMES[8:16]], n),
            "s_division_id": np.ones(n, int), "s_division_name": pa.array(["Unknown"] * n),
            "s_company_id": np.ones(n, int), "s_company_name": pa.array(["Unknown"] * n),
            **addr, "s_tax_percentage": _dec(rng.integers(0, 12, n), type_=pa.decimal128(5, 2))}


def call_center(rng, scale):
    n = _rows("call_center", scale)
    sk, ids, start, end = _scd_ids(n)
    names = ["NY Metro", "Mid Atlantic", "North Midwest", "Pacific Northwest",
             "California", "Hawaii/Alaska"]
    addr = _address(rng, "cc_", n, states=["TN"])
    return {"cc_call_center_sk": sk, "cc_call_center_id": ids, "cc_rec_start_date": start,
            "cc_rec_end_date": end, "cc_closed_date_sk": _int(np.zeros(n), np.ones(n, bool)),
            "cc_open_date_sk": _sks(rng, 1998, 1999, n),
            "cc_name": _take(names, (sk - 1) // 2 % len(names)),
            "cc_class": _pick(rng, ["small", "medium", "large"], n),
            "cc_employees": rng.integers(100, 70000, n),
            "cc_sq_ft": rng.integers(1000, 700000, n),
            "cc_hours": _pick(rng, ["8AM-4PM", "8AM-12AM", "8AM-8AM"], n),
            "cc_manager": _pick(rng, MANAGERS, n),
            "cc_mkt_id": rng.integers(1, 7, n), "cc_mkt_class": _text(rng, n, 5),
            "cc_mkt_desc": _text(rng, n, 10),
            "cc_market_manager": _pick(rng, [f"{a} {b}" for a in FIRST_NAMES[8:]
                                             for b in LAST_NAMES[8:]], n),
            "cc_division": rng.integers(1, 7, n), "cc_division_name": _words(rng, n, 2),
            "cc_company": rng.integers(1, 7, n), "cc_company_name": _words(rng, n, 1),
            **addr, "cc_tax_percentage": _dec(rng.integers(0, 12, n), type_=pa.decimal128(5, 2))}


def catalog_page(rng, scale):
    n = _rows("catalog_page", scale)
    sk = np.arange(1, n + 1)
    start = _sks(rng, 1998, 2003, n)
    return {"cp_catalog_page_sk": sk, "cp_catalog_page_id": _bkeys(sk),
            "cp_start_date_sk": start, "cp_end_date_sk": start + rng.integers(30, 180, n),
            "cp_department": pa.array(["DEPARTMENT"] * n), "cp_catalog_number": (sk - 1) // 108 + 1,
            "cp_catalog_page_number": (sk - 1) % 108 + 1, "cp_description": _text(rng, n),
            "cp_type": _pick(rng, ["bi-annual", "quarterly", "monthly"], n)}


def web_site(rng, scale):
    n = _rows("web_site", scale)
    sk, ids, start, end = _scd_ids(n)
    addr = _address(rng, "web_", n)
    return {"web_site_sk": sk, "web_site_id": ids, "web_rec_start_date": start,
            "web_rec_end_date": end, "web_name": pa.array([f"site_{(k - 1) // 2}" for k in sk]),
            "web_open_date_sk": _sks(rng, 1997, 1998, n),
            "web_close_date_sk": _int(np.zeros(n), np.ones(n, bool)),
            "web_class": pa.array(["Unknown"] * n),
            "web_manager": _pick(rng, [f"{a} {b}" for a in FIRST_NAMES for b in LAST_NAMES[:4]], n),
            "web_mkt_id": rng.integers(1, 7, n), "web_mkt_class": _text(rng, n, 5),
            "web_mkt_desc": _text(rng, n, 10),
            "web_market_manager": _pick(rng, [f"{a} {b}" for a in FIRST_NAMES
                                              for b in LAST_NAMES[4:8]], n),
            "web_company_id": rng.integers(1, 7, n),
            "web_company_name": _take(SYLLABLES[:6], rng.integers(0, 6, n)), **addr,
            "web_tax_percentage": _dec(rng.integers(0, 12, n), type_=pa.decimal128(5, 2))}


def web_page(rng, scale):
    n = _rows("web_page", scale)
    sk, ids, start, end = _scd_ids(n)
    n_c = _rows("customer", scale)
    return {"wp_web_page_sk": sk, "wp_web_page_id": ids, "wp_rec_start_date": start,
            "wp_rec_end_date": end,
            "wp_creation_date_sk": _sks(rng, 1997, 1998, n),
            "wp_access_date_sk": _sks(rng, 2002, 2003, n),
            "wp_autogen_flag": _pick(rng, ["N", "Y"], n),
            "wp_customer_sk": _int(rng.integers(1, n_c + 1, n), rng.random(n) < 0.7),
            "wp_url": pa.array(["http://www.foo.com"] * n),
            "wp_type": _pick(rng, ["welcome", "protected", "feedback", "general", "order",
                                   "ad", "dynamic"], n),
            "wp_char_count": rng.integers(300, 8000, n), "wp_link_count": rng.integers(2, 26, n),
            "wp_image_count": rng.integers(1, 8, n),
            "wp_max_ad_count": _int(rng.integers(0, 5, n), type_=pa.int32())}


def warehouse(rng, scale):
    n = _rows("warehouse", scale)
    sk = np.arange(1, n + 1)
    names = ["Conventional childr", "Important issues liv", "Doors canno",
             "Bad cards must make.", "Operations can give"]
    addr = _address(rng, "w_", n, states=["TN"])
    return {"w_warehouse_sk": sk, "w_warehouse_id": _bkeys(sk),
            "w_warehouse_name": _take(names, (sk - 1) % len(names)),
            "w_warehouse_sq_ft": rng.integers(50_000, 1_000_000, n), **addr}


def ship_mode(rng, scale):
    sk = np.arange(1, 21)
    return {"sm_ship_mode_sk": sk, "sm_ship_mode_id": _bkeys(sk),
            "sm_type": _take(SHIP_TYPES, (sk - 1) % len(SHIP_TYPES)),
            "sm_code": _take(["AIR", "SURFACE", "SEA", "BIKE", "HAND", "MESSENGER"],
                             (sk - 1) // 4 % 6),
            "sm_carrier": pa.array(CARRIERS), "sm_contract": _words(rng, 20, 3)}


def reason(rng, scale):
    sk = np.arange(1, 36)
    return {"r_reason_sk": sk, "r_reason_id": _bkeys(sk),
            "r_reason_desc": pa.array([f"reason {k}" for k in sk])}


def promotion(rng, scale):
    n = _rows("promotion", scale)
    sk = np.arange(1, n + 1)
    start = _sks(rng, 1998, 2003, n)
    yn = {f"p_channel_{c}": _pick(rng, ["N", "Y"], n, p=[0.8, 0.2])
          for c in ("dmail", "email", "catalog", "tv", "radio", "press", "event", "demo")}
    return {"p_promo_sk": sk, "p_promo_id": _bkeys(sk), "p_start_date_sk": start,
            "p_end_date_sk": start + rng.integers(10, 60, n),
            "p_item_sk": rng.integers(1, _rows("item", scale) + 1, n),
            "p_cost": _dec(np.full(n, 100_000), type_=pa.decimal128(15, 2)),
            "p_response_target": np.ones(n, int), "p_promo_name": _take(SYLLABLES, sk % 10),
            **yn, "p_channel_details": _text(rng, n, 8), "p_purpose": pa.array(["Unknown"] * n),
            "p_discount_active": _pick(rng, ["N", "Y"], n)}


# -- facts --------------------------------------------------------------------------------

def _orders(rng, n_lines: int, mean_lines: int, n_items: int):
    """Lines grouped into orders: each line's order number and a distinct item within its
    order (a stride through the items from a random start)."""
    sizes = rng.integers(1, 2 * mean_lines, 2 * (n_lines // mean_lines) + 10)
    sizes = sizes[:np.searchsorted(np.cumsum(sizes), n_lines) + 1]
    order = np.repeat(np.arange(1, len(sizes) + 1), sizes)[:n_lines]
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    pos = np.arange(n_lines) - np.repeat(starts, sizes)[:n_lines]
    first = rng.integers(0, n_items, len(sizes))[order - 1]
    stride = 7919 if n_items % 7919 else 7907
    items = (first + pos * stride) % n_items + 1
    # 5% of the lines sell one of 20 popular items (q23's "frequent items" sell more than
    # 4 times a day), the n-th line of an order the n-th of them
    hot = (rng.random(n_lines) < 0.05) & (pos < 20)
    items[hot] = pos[hot] * (n_items // 20) + 1
    return order, items


def _skewed(rng, n: int, hi: int) -> np.ndarray:
    """Keys 1..hi drawn with a skew (frequent customers buy in several years and channels,
    which the year-over-year queries look for)."""
    return (hi * rng.random(n) ** 2).astype(np.int64) + 1


def _pricing(rng, n: int) -> dict[str, np.ndarray]:
    """dsdgen's pricing in hundredths: quantity, wholesale cost, list and sales price and
    the extended amounts, coupon, tax, shipping, net paid and profit."""
    qty = rng.integers(1, 101, n)
    wholesale = rng.integers(100, 10_001, n)
    list_ = (wholesale * rng.uniform(1.0, 3.0, n)).astype(np.int64)
    sales = (list_ * rng.uniform(0.0, 1.0, n)).astype(np.int64)
    ext_sales, ext_list, ext_whole = sales * qty, list_ * qty, wholesale * qty
    coupon = np.where(rng.random(n) < 0.2, (ext_sales * rng.uniform(0, 1, n)).astype(np.int64), 0)
    net_paid = ext_sales - coupon
    tax = (net_paid * rng.integers(0, 10, n) / 100).astype(np.int64)
    ship = (ext_list * rng.uniform(0, 0.5, n)).astype(np.int64)
    # DECIMAL(7,2) tops out at 99999.99: keep every amount inside it
    cap = 9_999_999
    return {k: np.minimum(v, cap) for k, v in {
        "quantity": qty, "wholesale_cost": wholesale, "list_price": list_,
        "sales_price": sales, "ext_discount_amt": ext_list - ext_sales,
        "ext_sales_price": ext_sales, "ext_wholesale_cost": ext_whole,
        "ext_list_price": ext_list, "ext_tax": tax, "coupon_amt": coupon,
        "ext_ship_cost": ship, "net_paid": net_paid, "net_paid_inc_tax": net_paid + tax,
        "net_paid_inc_ship": net_paid + ship, "net_paid_inc_ship_tax": net_paid + ship + tax,
        "net_profit": net_paid - ext_whole}.items()}


def _measures(rng, prefix: str, price: dict, names: list[str], idx=None) -> dict:
    out = {}
    for name in names:
        v = price[name] if idx is None else price[name][idx]
        mask = _nulls(rng, len(v), MEASURE_NULLS)
        out[prefix + name] = _int(v, mask) if name == "quantity" else _dec(v, mask)
    return out


def _fk(rng, values, frac=FK_NULLS) -> pa.Array:
    return _int(values, _nulls(rng, len(values), frac))


def _sale_dates(rng, n: int) -> np.ndarray:
    return rng.integers(_sk(SALES_FIRST), _sk(SALES_LAST) + 1, n)


def _returns_of(rng, n: int, frac: float = 0.1) -> np.ndarray:
    return np.sort(rng.choice(n, int(n * frac), replace=False))


def _return_amounts(rng, prefix: str, qty, sales_price, names: dict[str, str]) -> dict:
    """Return quantity (at most the quantity sold) and the refund split dsdgen makes."""
    n = len(qty)
    rq = np.maximum(1, (qty * rng.random(n)).astype(np.int64) + 1)
    rq = np.minimum(rq, qty)
    amt = np.minimum(sales_price * rq, 9_999_999)
    tax = (amt * rng.integers(0, 10, n) / 100).astype(np.int64)
    fee = rng.integers(50, 10_000, n)
    ship = (amt * rng.uniform(0, 0.5, n)).astype(np.int64)
    cash = (amt * rng.uniform(0, 1, n)).astype(np.int64)
    charge = ((amt - cash) * rng.uniform(0, 1, n)).astype(np.int64)
    credit = amt - cash - charge
    vals = {"return_quantity": rq, "return_amt": amt, "return_tax": tax,
            "return_amt_inc_tax": np.minimum(amt + tax, 9_999_999), "fee": fee,
            "return_ship_cost": ship, "refunded_cash": cash, "reversed_charge": charge,
            "store_credit": credit, "net_loss": np.minimum(ship + fee + tax, 9_999_999)}
    out = {}
    for key, v in vals.items():
        col = prefix + names.get(key, key)
        mask = _nulls(rng, n, MEASURE_NULLS)
        out[col] = _int(v, mask) if key == "return_quantity" else _dec(v, mask)
    return out


def store_facts(rng, scale):
    n = _rows("store_sales", scale)
    n_items, n_c = _rows("item", scale), _rows("customer", scale)
    n_cd, n_ca = _rows("customer_demographics", scale), _rows("customer_address", scale)
    ticket, items = _orders(rng, n, 12, n_items)
    t = len(np.unique(ticket))
    per = {"date": _sale_dates(rng, t), "time": rng.integers(8 * 3600, 22 * 3600, t),
           "cust": _skewed(rng, t, n_c), "cdemo": rng.integers(1, n_cd + 1, t),
           "hdemo": rng.integers(1, 7201, t), "addr": rng.integers(1, n_ca + 1, t),
           "store": rng.integers(1, _rows("store", scale) + 1, t),
           "promo": rng.integers(1, _rows("promotion", scale) + 1, t)}
    line = {k: v[ticket - 1] for k, v in per.items()}
    price = _pricing(rng, n)
    names = ["quantity", "wholesale_cost", "list_price", "sales_price", "ext_discount_amt",
             "ext_sales_price", "ext_wholesale_cost", "ext_list_price", "ext_tax",
             "coupon_amt", "net_paid", "net_paid_inc_tax", "net_profit"]
    sales = {"ss_sold_date_sk": _fk(rng, line["date"]), "ss_sold_time_sk": _fk(rng, line["time"]),
             "ss_item_sk": items, "ss_customer_sk": _fk(rng, line["cust"]),
             "ss_cdemo_sk": _fk(rng, line["cdemo"]), "ss_hdemo_sk": _fk(rng, line["hdemo"]),
             "ss_addr_sk": _fk(rng, line["addr"]), "ss_store_sk": _fk(rng, line["store"]),
             "ss_promo_sk": _fk(rng, line["promo"]), "ss_ticket_number": ticket,
             **_measures(rng, "ss_", price, names)}
    r = _returns_of(rng, n)
    m = len(r)
    returned = np.minimum(line["date"][r] + rng.integers(1, 91, m), FIRST_DATE_SK + DATE_ROWS - 1)
    returns = {"sr_returned_date_sk": _fk(rng, returned),
               "sr_return_time_sk": _fk(rng, rng.integers(8 * 3600, 22 * 3600, m)),
               "sr_item_sk": items[r], "sr_customer_sk": _fk(rng, line["cust"][r]),
               "sr_cdemo_sk": _fk(rng, line["cdemo"][r]), "sr_hdemo_sk": _fk(rng, line["hdemo"][r]),
               "sr_addr_sk": _fk(rng, line["addr"][r]), "sr_store_sk": _fk(rng, line["store"][r]),
               "sr_reason_sk": _fk(rng, rng.integers(1, 36, m)), "sr_ticket_number": ticket[r],
               **_return_amounts(rng, "sr_", price["quantity"][r], price["sales_price"][r],
                                 {"store_credit": "store_credit"})}
    return {"store_sales": sales, "store_returns": returns}


def _remote_facts(rng, scale, channel: str):
    """catalog_sales/_returns (channel "c") or web_sales/_returns ("w")."""
    p = {"c": "cs_", "w": "ws_"}[channel]
    rp = {"c": "cr_", "w": "wr_"}[channel]
    table = {"c": "catalog_sales", "w": "web_sales"}[channel]
    n = _rows(table, scale)
    n_items, n_c = _rows("item", scale), _rows("customer", scale)
    n_cd, n_ca = _rows("customer_demographics", scale), _rows("customer_address", scale)
    order, items = _orders(rng, n, 10, n_items)
    o = len(np.unique(order))
    bill = _skewed(rng, o, n_c)
    per = {"date": _sale_dates(rng, o), "time": rng.integers(0, 86_400, o), "bill": bill,
           "bcdemo": rng.integers(1, n_cd + 1, o), "bhdemo": rng.integers(1, 7201, o),
           "baddr": rng.integers(1, n_ca + 1, o),
           "ship": np.where(rng.random(o) < 0.5, bill, _skewed(rng, o, n_c)),
           "scdemo": rng.integers(1, n_cd + 1, o), "shdemo": rng.integers(1, 7201, o),
           "saddr": rng.integers(1, n_ca + 1, o)}
    if channel == "c":
        per["cc"] = rng.integers(1, _rows("call_center", scale) + 1, o)
        per["page"] = rng.integers(1, _rows("catalog_page", scale) + 1, o)
    else:
        per["page"] = rng.integers(1, _rows("web_page", scale) + 1, o)
        per["site"] = rng.integers(1, _rows("web_site", scale) + 1, o)
    line = {k: v[order - 1] for k, v in per.items()}
    ship_date = line["date"] + rng.integers(2, 91, n)
    price = _pricing(rng, n)
    names = ["quantity", "wholesale_cost", "list_price", "sales_price", "ext_discount_amt",
             "ext_sales_price", "ext_wholesale_cost", "ext_list_price", "ext_tax",
             "coupon_amt", "ext_ship_cost", "net_paid", "net_paid_inc_tax",
             "net_paid_inc_ship", "net_paid_inc_ship_tax", "net_profit"]
    sm = rng.integers(1, 21, n)
    wh = rng.integers(1, _rows("warehouse", scale) + 1, n)
    promo = rng.integers(1, _rows("promotion", scale) + 1, n)
    cols = {f"{p}sold_date_sk": _fk(rng, line["date"]), f"{p}sold_time_sk": _fk(rng, line["time"]),
            f"{p}ship_date_sk": _fk(rng, ship_date)}
    people = {"bill_customer_sk": "bill", "bill_cdemo_sk": "bcdemo", "bill_hdemo_sk": "bhdemo",
              "bill_addr_sk": "baddr", "ship_customer_sk": "ship", "ship_cdemo_sk": "scdemo",
              "ship_hdemo_sk": "shdemo", "ship_addr_sk": "saddr"}
    if channel == "w":
        cols[f"{p}item_sk"] = items
    cols.update({p + c: _fk(rng, line[k]) for c, k in people.items()})
    if channel == "c":
        cols.update({"cs_call_center_sk": _fk(rng, line["cc"]),
                     "cs_catalog_page_sk": _fk(rng, line["page"]),
                     "cs_ship_mode_sk": _fk(rng, sm), "cs_warehouse_sk": _fk(rng, wh),
                     "cs_item_sk": items, "cs_promo_sk": _fk(rng, promo)})
    else:
        cols.update({"ws_web_page_sk": _fk(rng, line["page"]),
                     "ws_web_site_sk": _fk(rng, line["site"]), "ws_ship_mode_sk": _fk(rng, sm),
                     "ws_warehouse_sk": _fk(rng, wh), "ws_promo_sk": _fk(rng, promo)})
    cols[f"{p}order_number"] = order
    cols.update(_measures(rng, p, price, names))

    r = _returns_of(rng, n)
    m = len(r)
    returned = np.minimum(ship_date[r] + rng.integers(1, 61, m), FIRST_DATE_SK + DATE_ROWS - 1)
    ret = {f"{rp}returned_date_sk": _fk(rng, returned),
           f"{rp}returned_time_sk": _fk(rng, rng.integers(0, 86_400, m)),
           f"{rp}item_sk": items[r]}
    # refunded = the buyer; returning = who sent it back (the ship-to customer)
    for who, keys in (("refunded", ("bill", "bcdemo", "bhdemo", "baddr")),
                      ("returning", ("ship", "scdemo", "shdemo", "saddr"))):
        for col, k in zip(("customer_sk", "cdemo_sk", "hdemo_sk", "addr_sk"), keys, strict=True):
            ret[f"{rp}{who}_{col}"] = _fk(rng, line[k][r])
    if channel == "c":
        ret.update({"cr_call_center_sk": _fk(rng, line["cc"][r]),
                    "cr_catalog_page_sk": _fk(rng, line["page"][r]),
                    "cr_ship_mode_sk": _fk(rng, sm[r]), "cr_warehouse_sk": _fk(rng, wh[r])})
    else:
        ret["wr_web_page_sk"] = _fk(rng, line["page"][r])
    ret[f"{rp}reason_sk"] = _fk(rng, rng.integers(1, 36, m))
    ret[f"{rp}order_number"] = order[r]
    rename = ({"return_amt": "return_amount"} if channel == "c"
              else {"store_credit": "account_credit"})
    ret.update(_return_amounts(rng, rp, price["quantity"][r], price["sales_price"][r], rename))
    returns = {"c": "catalog_returns", "w": "web_returns"}[channel]
    return {table: cols, returns: ret}


def inventory(rng, scale):
    """Weekly stock (Thursdays 1998-01-01 .. 2002-12-26) of every eighth item in each
    warehouse; the specification has every other item (11.7M rows at scale 1)."""
    weeks = _sk(dt.date(1998, 1, 1)) + 7 * np.arange(261)
    items = np.arange(1, _rows("item", scale) + 1, 8)
    wh = np.arange(1, _rows("warehouse", scale) + 1)
    d, i, w = (a.ravel() for a in np.meshgrid(weeks, items, wh, indexing="ij"))
    n = len(d)
    return {"inv_date_sk": d, "inv_item_sk": i, "inv_warehouse_sk": w,
            "inv_quantity_on_hand": _int(rng.integers(0, 1001, n), _nulls(rng, n, FK_NULLS),
                                         pa.int32())}


DIMENSIONS = {f.__name__: f for f in (
    date_dim, time_dim, item, customer_demographics, household_demographics, income_band,
    customer_address, customer, store, call_center, catalog_page, web_site, web_page,
    warehouse, ship_mode, reason, promotion, inventory)}
FACTS = {"store": store_facts, "catalog": lambda rng, s: _remote_facts(rng, s, "c"),
         "web": lambda rng, s: _remote_facts(rng, s, "w")}


def _table(name: str, cols: dict) -> pa.Table:
    schema = SCHEMA[name]
    missing = set(schema.names) ^ set(cols)
    if missing:
        raise ValueError(f"{name}: columns {sorted(missing)} do not match the schema")
    arrays = []
    for f in schema:
        a = cols[f.name]
        a = a if isinstance(a, pa.Array) else pa.array(np.asarray(a))
        arrays.append(a.cast(f.type))
    return pa.Table.from_arrays(arrays, schema=schema)


def tables(scale: float = 1, seed: int = 42):
    """Yields (name, pyarrow Table) for the 24 tables at ``scale``."""
    for i, (name, fn) in enumerate(DIMENSIONS.items()):
        yield name, _table(name, fn(np.random.default_rng([seed, i]), scale))
    for i, fn in enumerate(FACTS.values()):
        for name, cols in fn(np.random.default_rng([seed, 100 + i]), scale).items():
            yield name, _table(name, cols)


def generate(scale: float, out_dir: str | Path, seed: int = 42, echo=print) -> dict[str, Path]:
    """Writes TABLE.parquet for the 24 tables into ``out_dir``: {table: path}."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, t in tables(scale, seed):
        t0 = time.perf_counter()
        paths[name] = out / f"{name}.parquet"
        pq.write_table(t, paths[name])
        if echo:
            echo(f"  {name:<23} {t.num_rows:>10,} rows  {time.perf_counter() - t0:5.1f}s write")
    return paths


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m datasets.tpcds",
                                 description=__doc__.split("\n\n")[0])
    ap.add_argument("--scale", type=float, default=1, help="scale factor (default 1)")
    ap.add_argument("--out", required=True, help="directory for the 24 Parquet files")
    ap.add_argument("--seed", type=int, default=42)
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    generate(args.scale, args.out, args.seed)
    print(f"TPC-DS-shaped scale {args.scale:g} in {args.out}: "
          f"{time.perf_counter() - t0:.1f}s")


if __name__ == "__main__":
    main()
