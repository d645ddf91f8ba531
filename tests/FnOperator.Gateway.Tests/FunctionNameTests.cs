using FnOperator.Api;
using FnOperator.Gateway.Functions;

namespace FnOperator.Gateway.Tests;

public sealed class FunctionNameTests
{
    private static FunctionRegistry Registry()
    {
        var registry = new FunctionRegistry();
        registry.Upsert(new FunctionKey("default", "hello"), new FunctionSpec { Handler = "latest" });
        registry.Upsert(new FunctionKey("team-a", "hello"), new FunctionSpec { Handler = "team" });
        registry.Upsert(new FunctionKey("default", "my.dotted"), new FunctionSpec { Handler = "dotted" });
        registry.PublishVersion(new FunctionKey("default", "hello"), "3", new FunctionSpec { Handler = "v3" });
        registry.SetAlias(new FunctionKey("default", "hello"), "live", "3");
        return registry;
    }

    [Theory]
    [InlineData("hello", null, "default", "hello", "$LATEST", "latest", "arn:aws:lambda:us-east-1:000000000000:function:hello")]
    [InlineData("hello", "$LATEST", "default", "hello", "$LATEST", "latest", "arn:aws:lambda:us-east-1:000000000000:function:hello:$LATEST")]
    [InlineData("hello", "3", "default", "hello", "3", "v3", "arn:aws:lambda:us-east-1:000000000000:function:hello:3")]
    [InlineData("hello:live", null, "default", "hello", "3", "v3", "arn:aws:lambda:us-east-1:000000000000:function:hello:live")]
    [InlineData("team-a/hello", null, "team-a", "hello", "$LATEST", "team", "arn:aws:lambda:us-east-1:000000000000:function:team-a.hello")]
    [InlineData("team-a.hello", null, "team-a", "hello", "$LATEST", "team", "arn:aws:lambda:us-east-1:000000000000:function:team-a.hello")]
    [InlineData("my.dotted", null, "default", "my.dotted", "$LATEST", "dotted", "arn:aws:lambda:us-east-1:000000000000:function:my.dotted")]
    [InlineData("arn:aws:lambda:eu-west-1:123456789012:function:hello", null, "default", "hello", "$LATEST", "latest", "arn:aws:lambda:us-east-1:000000000000:function:hello")]
    [InlineData("arn:aws:lambda:eu-west-1:123456789012:function:hello:3", null, "default", "hello", "3", "v3", "arn:aws:lambda:us-east-1:000000000000:function:hello:3")]
    [InlineData("arn:aws:lambda:us-east-1:000000000000:function:team-a.hello", null, "team-a", "hello", "$LATEST", "team", "arn:aws:lambda:us-east-1:000000000000:function:team-a.hello")]
    public void Name_forms_resolve_to_the_function_version(string name, string? qualifier, string ns, string fn, string version, string handler, string invokedArn)
    {
        Assert.True(Registry().TryResolve(name, qualifier, out var resolved));

        Assert.Equal(new FunctionKey(ns, fn), resolved.Key);
        Assert.Equal(version, resolved.Version);
        Assert.Equal(handler, resolved.Spec.Handler);
        Assert.Equal(invokedArn, resolved.InvokedFunctionArn);
    }

    [Theory]
    [InlineData("", null)]
    [InlineData("missing", null)]
    [InlineData("hello", "4")]
    [InlineData("hello", "nosuchalias")]
    [InlineData("hello:3", "$LATEST")]
    [InlineData("team-b/hello", null)]
    [InlineData("a/b/c", null)]
    [InlineData("hello:", null)]
    [InlineData("arn:aws:s3:::bucket", null)]
    [InlineData("arn:aws:lambda:us-east-1:1:layer:hello", null)]
    public void Unresolvable_names_are_not_found(string name, string? qualifier)
    {
        Assert.False(Registry().TryResolve(name, qualifier, out _));
    }

    [Fact]
    public void Removed_function_no_longer_resolves_and_raises_changed()
    {
        var registry = Registry();
        var changed = new List<FunctionKey>();
        registry.Changed += changed.Add;

        Assert.True(registry.Remove(new FunctionKey("team-a", "hello")));

        Assert.False(registry.TryResolve("team-a/hello", null, out _));
        Assert.Equal([new FunctionKey("team-a", "hello")], changed);
        Assert.Equal(2, registry.All.Count);
    }

    [Fact]
    public void Weighted_alias_sends_its_share_of_invocations_to_the_additional_version()
    {
        var registry = new FunctionRegistry(random: new Random(7));
        var key = new FunctionKey("default", "canary");
        registry.Upsert(key, new FunctionSpec());
        registry.PublishVersion(key, "1", new FunctionSpec { Handler = "one" });
        registry.PublishVersion(key, "2", new FunctionSpec { Handler = "two" });
        registry.SetAlias(key, "live", new AliasRoute("1", "2", 0.25));

        var versions = Enumerable.Range(0, 2000).Select(_ =>
        {
            Assert.True(registry.TryResolve("canary:live", null, out var resolved));
            Assert.Equal(resolved.Version == "1" ? "one" : "two", resolved.Spec.Handler);
            return resolved.Version;
        }).ToList();

        var share = versions.Count(v => v == "2") / 2000.0;
        Assert.InRange(share, 0.2, 0.3);
        Assert.Equal(2000, versions.Count(v => v is "1" or "2"));
    }

    [Theory]
    [InlineData(1.5)]
    [InlineData(-0.1)]
    public void Alias_weight_outside_zero_to_one_is_rejected(double weight)
    {
        var registry = Registry();

        Assert.Throws<ArgumentException>(() => registry.SetAlias(new FunctionKey("default", "hello"), "bad", new AliasRoute("3", "4", weight)));
    }

    [Fact]
    public void Removed_alias_no_longer_resolves()
    {
        var registry = Registry();

        Assert.True(registry.RemoveAlias(new FunctionKey("default", "hello"), "live"));

        Assert.False(registry.TryResolve("hello", "live", out _));
    }
}
