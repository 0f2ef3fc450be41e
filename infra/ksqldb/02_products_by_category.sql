-- Products grouped by category. Beyond the MVP: keyed by the trimmed, lower-cased category so
-- a search matches it whatever its case, and names collected as a set, so a re-published
-- product is counted once (the MVP's COLLECT_LIST and COUNT(*) counted every copy).
CREATE STREAM IF NOT EXISTS SHOP_PRODUCTS_KEYED AS
SELECT
    LCASE(TRIM(category)) AS category_key,
    category,
    name
FROM SHOP_PRODUCTS_RAW
WHERE category IS NOT NULL AND name IS NOT NULL
PARTITION BY LCASE(TRIM(category))
EMIT CHANGES;

CREATE TABLE IF NOT EXISTS PRODUCTS_BY_CATEGORY
WITH (
    KAFKA_TOPIC = 'products_by_category',
    PARTITIONS = 3,
    REPLICAS = 3
) AS
SELECT
    category_key,
    LATEST_BY_OFFSET(category) AS category,
    COLLECT_SET(name) AS all_products,
    ARRAY_LENGTH(COLLECT_SET(name)) AS product_count,
    ARRAY_JOIN(COLLECT_SET(name), ', ') AS products_csv
FROM SHOP_PRODUCTS_KEYED
GROUP BY category_key
EMIT CHANGES;
