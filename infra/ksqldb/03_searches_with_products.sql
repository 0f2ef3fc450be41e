-- Each client search joined with its category's products: the MVP's SEARCHES_WITH_PRODUCTS
-- and field names, matched on the lower-cased term (the MVP compared the raw strings, so
-- «красота» missed «Красота»). Word forms («красоту») need a UDF; the local profile's Quix
-- Streams engine handles them.
CREATE STREAM IF NOT EXISTS CLIENT_SEARCHES_KEYED AS
SELECT
    LCASE(TRIM(word_search)) AS search_key,
    id_client,
    word_search
FROM CLIENT_SEARCHES_RAW
WHERE word_search IS NOT NULL
PARTITION BY LCASE(TRIM(word_search))
EMIT CHANGES;

-- The join is keyed by the search term; the design's topic is keyed by the client.
CREATE STREAM IF NOT EXISTS SEARCHES_JOINED AS
SELECT
    CS.search_key AS search_key,
    CS.id_client AS CLIENT_ID,
    CS.word_search AS SEARCH_TERM,
    PBC.category AS MATCHED_CATEGORY,
    PBC.products_csv AS PRODUCTS_IN_CATEGORY,
    PBC.product_count AS TOTAL_PRODUCTS,
    PBC.all_products AS ALL_PRODUCTS_ARRAY
FROM CLIENT_SEARCHES_KEYED CS
LEFT JOIN PRODUCTS_BY_CATEGORY PBC ON CS.search_key = PBC.category_key
EMIT CHANGES;

CREATE STREAM IF NOT EXISTS SEARCHES_WITH_PRODUCTS
WITH (
    KAFKA_TOPIC = 'SEARCHES_WITH_PRODUCTS',
    PARTITIONS = 3,
    REPLICAS = 3,
    RETENTION_MS = 604800000
) AS
SELECT
    CLIENT_ID,
    SEARCH_TERM,
    MATCHED_CATEGORY,
    PRODUCTS_IN_CATEGORY,
    TOTAL_PRODUCTS,
    ALL_PRODUCTS_ARRAY
FROM SEARCHES_JOINED
PARTITION BY CLIENT_ID
EMIT CHANGES;
