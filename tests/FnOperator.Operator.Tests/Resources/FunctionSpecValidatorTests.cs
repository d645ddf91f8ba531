using FnOperator.Api;
using FnOperator.Operator.Resources;

namespace FnOperator.Operator.Tests.Resources;

public sealed class FunctionSpecValidatorTests
{
    public static TheoryData<string, Action<FunctionSpec>, string?> Cases => new()
    {
        { "valid url code", _ => { }, null },
        { "valid image without runtime", s => { s.Runtime = null; s.Code = new FunctionCode { Image = "r/i:1" }; }, null },
        { "valid configMap", s => s.Code = new FunctionCode { ConfigMap = new ConfigMapCodeSource { Name = "c" } }, null },
        { "unknown runtime", s => s.Runtime = "cobol1.0", FunctionReasons.UnknownRuntime },
        { "no runtime and no image", s => s.Runtime = null, FunctionReasons.UnknownRuntime },
        { "two code sources", s => s.Code.Image = "r/i:1", FunctionReasons.InvalidCode },
        { "no code source", s => s.Code = new FunctionCode(), FunctionReasons.InvalidCode },
        { "local path in a cluster", s => s.Code = new FunctionCode { Path = "./src" }, FunctionReasons.InvalidCode },
        { "url without sha256", s => s.Code.Sha256 = null, FunctionReasons.InvalidCode },
        { "ftp url", s => s.Code.Url = "ftp://x/y.zip", FunctionReasons.InvalidCode },
        { "reserved AWS_ variable", s => s.Environment = [new EnvironmentVariable { Name = "AWS_REGION", Value = "x" }], FunctionReasons.InvalidEnvironment },
        { "reserved _HANDLER", s => s.Environment = [new EnvironmentVariable { Name = "_HANDLER", Value = "x" }], FunctionReasons.InvalidEnvironment },
        { "value and secret", s => s.Environment = [new EnvironmentVariable { Name = "A", Value = "x", SecretKeyRef = new KeyReference { Name = "s", Key = "k" } }], FunctionReasons.InvalidEnvironment },
        { "duplicate variable", s => s.Environment = [new EnvironmentVariable { Name = "A", Value = "1" }, new EnvironmentVariable { Name = "A", Value = "2" }], FunctionReasons.InvalidEnvironment },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Validate_reports_what_the_crd_schema_cannot_catch(string _, Action<FunctionSpec> change, string? reason)
    {
        var problem = FunctionSpecValidator.Validate(TestFunctions.Node(change: change).Spec, new OperatorOptions());

        Assert.Equal(reason, problem?.Reason);
        if (problem is not null)
        {
            Assert.False(string.IsNullOrWhiteSpace(problem.Message));
        }
    }

    [Fact]
    public void Code_path_in_a_cluster_points_to_configMap_url_and_image_and_the_configmap_command()
    {
        var problem = FunctionSpecValidator.Validate(TestFunctions.Node(change: s => s.Code = new FunctionCode { Path = "src" }).Spec, new OperatorOptions());

        Assert.Equal(FunctionReasons.InvalidCode, problem?.Reason);
        Assert.Equal(
            "spec.code.path is a folder on your machine, read only by local mode; a cluster needs spec.code.configMap " +
            "(make one from the folder: kubectl create configmap NAME --from-file=DIR, files at the folder's top level, 1 MiB in all), " +
            "spec.code.url with sha256 (a .zip over HTTP(S)) or spec.code.image (see docs/install.md)",
            problem!.Message);
    }
}
