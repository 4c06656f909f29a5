

def test_price_table_sizes_are_parsed() -> None:
    """Model sizes in a price table ('7B', '512M', 49) are kept in billions; unknown sizes are None."""
    from routeiq_core.datasets._prices import load_prices

    prices = load_prices({"a": {"input_price": 0.2, "output_price": 0.2, "size": "7B"},
                          "b": {"input_cost_per_mtok": 1, "output_cost_per_mtok": 2, "size_b": 49},
                          "c": {"input_price": 0.1, "output_price": 0.1, "size": "512M"},
                          "d": {"input_price": 0.1, "output_price": 0.1, "size": "big"}})
    assert [prices[m].size_b for m in "abcd"] == [7.0, 49.0, 0.512, None]
