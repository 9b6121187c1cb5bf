"""Operations: telling people when the pipeline needs them."""
