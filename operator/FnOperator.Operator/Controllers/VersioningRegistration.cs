using FnOperator.Api;
using FnOperator.Operator.Hosting;
using FnOperator.Operator.Resources;
using FnOperator.Operator.Runtime;
using k8s;
using k8s.Models;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace FnOperator.Operator.Controllers;

/// <summary>Versions and Aliases: the version ControllerRevisions and Aliases informers, the publish helpers, the invoked-versions watcher and the Alias controller.</summary>
public static class VersioningRegistration
{
    public static IServiceCollection AddVersioning(this IServiceCollection services)
    {
        services.AddInformer(
            sp => ListWatch.ControllerRevisions(sp.GetRequiredService<IKubernetes>(), Names.ManagedSelector, sp.GetRequiredService<IOptions<OperatorOptions>>().Value.WatchNamespace),
            o => o.Index(VersionPublisher.ByFunction, VersionPublisher.FunctionKeys));
        services.AddInformer<Alias>(o => o.Index(AliasReconciler.ByFunction, AliasReconciler.FunctionKeys));
        services.TryAddSingleton<VersionCodeSnapshots>();
        services.AddOptions<ImageDigestOptions>().BindConfiguration(ImageDigestOptions.Section)
            .Validate(o => o.RequestTimeout > TimeSpan.Zero && o.RequestTimeout <= TimeSpan.FromMinutes(5), "Operator:ImageDigests:RequestTimeout must be more than 0 and at most 5 minutes.")
            .ValidateOnStart();
        services.TryAddSingleton(sp => sp.GetRequiredService<IOptions<ImageDigestOptions>>().Value);
        services.TryAddSingleton<RegistryCredentials>();
        services.TryAddSingleton<ImageDigestResolver>();
        services.TryAddSingleton<VersionPublisher>();
        services.TryAddSingleton<VersionDeployments>();
        services.AddOptions<InvokedVersionsOptions>().BindConfiguration(InvokedVersionsOptions.Section);
        services.TryAddSingleton(sp => sp.GetRequiredService<IOptions<InvokedVersionsOptions>>().Value);
        services.TryAddSingleton<InvokedVersions>();
        services.AddLeaderService<InvokedVersionsWatcher>();
        services.AddController<AliasReconciler, Alias>(b => b
            .Watches<Function>(byIndex: AliasReconciler.ByFunction)
            .When(Predicates.GenerationOrMetadataChanged));
        return services;
    }

    /// <summary>The Function an Alias names, to re-enqueue it when the Alias changes (its referenced versions get Deployments).</summary>
    public static IEnumerable<ObjectKey> FunctionOf(Alias alias) => [AliasReconciler.FunctionKey(alias)];
}
