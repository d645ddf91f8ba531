using FnOperator.Api;
using FnOperator.Operator.Resources;

namespace FnOperator.Operator.Tests.Resources;

/// <summary>spec.logging becomes Lambda's AWS_LAMBDA_LOG_FORMAT / AWS_LAMBDA_LOG_LEVEL in the runtime container.</summary>
public sealed class EnvironmentBuilderLoggingTests
{
    public static TheoryData<LoggingSpec?, string?, string?> Cases => new()
    {
        { null, null, null },
        { new LoggingSpec(), "Text", null },
        { new LoggingSpec { LogFormat = "Text" }, "Text", null },
        { new LoggingSpec { LogFormat = "JSON" }, "JSON", "INFO" },
        { new LoggingSpec { LogFormat = "JSON", ApplicationLogLevel = "WARN", SystemLogLevel = "DEBUG" }, "JSON", "WARN" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Logging_spec_sets_the_log_format_and_with_json_the_application_log_level(LoggingSpec? logging, string? format, string? level)
    {
        var fn = TestFunctions.Node(change: s => s.Logging = logging);

        var env = EnvironmentBuilder.Build(FunctionVersion.Latest(fn), new OperatorOptions());

        Assert.Equal(format, env.SingleOrDefault(e => e.Name == "AWS_LAMBDA_LOG_FORMAT")?.Value);
        Assert.Equal(level, env.SingleOrDefault(e => e.Name == "AWS_LAMBDA_LOG_LEVEL")?.Value);
    }
}
