import gateway


def test_public_names_are_exactly_the_promised_ones() -> None:
    assert sorted(gateway.__all__) == [
        "AccessRequest",
        "ApprovalObligation",
        "ConfigError",
        "Decision",
        "Effect",
        "Gateway",
        "GatewayError",
        "IdentityError",
        "PolicyBundleError",
        "RequestError",
        "SourceError",
        "StepUpObligation",
        "UnknownActorError",
    ]


def test_every_public_name_is_importable() -> None:
    for name in gateway.__all__:
        assert getattr(gateway, name).__name__ == name
