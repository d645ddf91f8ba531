using FnOperator.Contracts;

namespace FnOperator.Api.Tests;

public sealed class RuntimeListTests
{
    [Fact]
    public void Crd_description_of_spec_runtime_lists_exactly_the_shared_runtimes()
    {
        var description = Schemas.At("Function", "spec.runtime").Description;

        var listed = description.Split(": ", 2)[1].Split(". Required", 2)[0].Split(", ");

        Assert.Equal(LambdaRuntimes.Ids, listed);
        Assert.EndsWith("Required unless code.image is set.", description, StringComparison.Ordinal);
    }
}
