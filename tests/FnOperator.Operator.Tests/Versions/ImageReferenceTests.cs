using FnOperator.Operator.Controllers;

namespace FnOperator.Operator.Tests.Versions;

/// <summary>Docker's naming rules for the references a version pins to a digest.</summary>
public sealed class ImageReferenceTests
{
    public static TheoryData<string, string, string, string, string?, string?> Valid => new()
    {
        // image, registry (as written), endpoint, repository, tag, digest
        { "node", "docker.io", "registry-1.docker.io", "library/node", null, null },
        { "node:22", "docker.io", "registry-1.docker.io", "library/node", "22", null },
        { "bitnami/redis:7.2", "docker.io", "registry-1.docker.io", "bitnami/redis", "7.2", null },
        { "docker.io/node", "docker.io", "registry-1.docker.io", "library/node", null, null },
        { "index.docker.io/library/node:lts", "docker.io", "registry-1.docker.io", "library/node", "lts", null },
        { "ghcr.io/org/team/fn:v1.2_3", "ghcr.io", "ghcr.io", "org/team/fn", "v1.2_3", null },
        { "localhost/fn", "localhost", "localhost", "fn", null, null },
        { "localhost:5000/fn:dev", "localhost:5000", "localhost:5000", "fn", "dev", null },
        { "127.0.0.1:5000/a/b", "127.0.0.1:5000", "127.0.0.1:5000", "a/b", null, null },
        { "registry.example/fn@sha256:" + Hex, "registry.example", "registry.example", "fn", null, "sha256:" + Hex },
        { "registry.example/fn:1@sha256:" + Hex, "registry.example", "registry.example", "fn", "1", "sha256:" + Hex },
        { "my-org/my_fn__x", "docker.io", "registry-1.docker.io", "my-org/my_fn__x", null, null },
    };

    private const string Hex = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

    [Theory]
    [MemberData(nameof(Valid))]
    public void A_valid_reference_is_split_by_docker_naming_rules(string image, string registry, string endpoint, string repository, string? tag, string? digest)
    {
        var reference = ImageReference.TryParse(image, out var error);

        Assert.Null(error);
        Assert.NotNull(reference);
        Assert.Equal(registry, reference.Registry);
        Assert.Equal(endpoint, reference.Endpoint);
        Assert.Equal(repository, reference.Repository);
        Assert.Equal(tag, reference.Tag);
        Assert.Equal(digest, reference.Digest);
        Assert.Equal(tag ?? "latest", reference.EffectiveTag);
    }

    [Theory]
    [InlineData("node", "node@sha256:" + Hex)]
    [InlineData("node:22", "node@sha256:" + Hex)]
    [InlineData("localhost:5000/fn:dev", "localhost:5000/fn@sha256:" + Hex)]
    [InlineData("docker.io/library/node:22", "docker.io/library/node@sha256:" + Hex)]
    public void A_pinned_reference_keeps_the_written_name_and_drops_the_tag(string image, string pinned) =>
        Assert.Equal(pinned, ImageReference.TryParse(image, out _)!.Pinned("sha256:" + Hex));

    [Theory]
    [InlineData("", "empty")]
    [InlineData("Node:22", "not a valid repository")]
    [InlineData("ghcr.io/Org/fn", "not a valid repository")]
    [InlineData("fn:-bad", "not a valid tag")]
    [InlineData("fn:", "not a valid tag")]
    [InlineData("fn@sha256:xyz", "not a valid digest")]
    [InlineData("registry.example/", "not a valid repository")]
    [InlineData("a..b/fn", "not a valid registry")]
    [InlineData("registry.example/a//b", "not a valid repository")]
    [InlineData("bad_host:5000/fn", "not a valid registry")]
    public void An_invalid_reference_is_refused_with_the_reason(string image, string reason)
    {
        Assert.Null(ImageReference.TryParse(image, out var error));
        Assert.Contains(reason, error);
    }
}
