-- Docker profile only (the local profile runs the same logic with Quix Streams).
-- The MVP's sources: what MirrorMaker 2 copied to the secondary cluster, as JSON.
CREATE STREAM IF NOT EXISTS SHOP_PRODUCTS_RAW (
    name STRING,
    category STRING
) WITH (
    KAFKA_TOPIC = 'primary.shop-clear',
    VALUE_FORMAT = 'JSON',
    KEY_FORMAT = 'KAFKA'
);

CREATE STREAM IF NOT EXISTS CLIENT_SEARCHES_RAW (
    id_client STRING,
    word_search STRING
) WITH (
    KAFKA_TOPIC = 'primary.client-searches',
    VALUE_FORMAT = 'JSON'
);
