using FnOperator.Api;
using FnOperator.Operator.Resources;
using FnOperator.Operator.Runtime;
using k8s;
using Microsoft.Extensions.Options;

namespace FnOperator.Operator.Controllers;

/// <summary>
/// Function → Deployment of $LATEST and of each referenced published version. Phases: validate spec → resolve code →
/// resolve layers → apply $LATEST's pull-credential Secret → publish (<see cref="VersionPublisher"/>) → apply $LATEST's Deployment → apply the versions'
/// pull-credential Secrets and Deployments (<see cref="VersionDeployments"/>) → status from $LATEST's Deployment → the Function URL (<see cref="FunctionUrlPublisher"/>) → a publish problem deferred by the publish phase (an unresolved image tag). The first problem ends the reconcile: its condition is marked, a Warning Event recorded,
/// and its retry class decides what happens next (spec problems are terminal; a missing ConfigMap, Layer or a foreign
/// Deployment is looked at again after DependencyRetry, and Layers re-enqueue the Function as soon as they change).
/// </summary>
public sealed class FunctionReconciler : IReconciler
{
    private readonly Informer<Function> functions;
    private readonly StatusWriter statusWriter;
    private readonly IEventRecorder events;
    private readonly TimeProvider time;
    private readonly OperatorOptions options;
    private readonly IReadOnlyList<Phase<FunctionState>> phases;
    private readonly FunctionUrlPublisher urls;

    public FunctionReconciler(
        Informer<Function> functions, CodeResolver codeResolver, LayerResolver layerResolver, DeploymentApplier applier,
        VersionPublisher publisher, VersionDeployments versionDeployments, PullCredentialApplier pullCredentials, FunctionUrlPublisher urls,
        StatusWriter statusWriter, IEventRecorder events, IOptions<OperatorOptions> optionsAccessor, TimeProvider time)
    {
        this.functions = functions;
        this.statusWriter = statusWriter;
        this.events = events;
        this.time = time;
        options = optionsAccessor.Value;
        phases =
        [
            ValidateAsync,
            codeResolver.ResolveAsync,
            layerResolver.ResolveAsync,
            MarkCodeReadyAsync,
            (state, ct) => pullCredentials.ApplyAsync(state.Function, FunctionVersion.Latest(state.Function), ct),
            publisher.PublishAsync,
            (state, ct) => applier.ApplyAsync(state, DeploymentBuilder.Build(state.Function, state.Code, state.Layers, options), ct),
            versionDeployments.ApplyAsync,
            MapDeploymentAsync,
            urls.PublishAsync,
            (state, _) => Task.FromResult(state.PublishProblem), // a version that could not be published (docs/versions.md)
        ];
        this.urls = urls;
    }

    public string Kind => Function.KindName;

    public async Task<ReconcileResult> ReconcileAsync(ObjectKey key, CancellationToken cancellationToken)
    {
        var fn = functions.Get(key);
        if (fn is null || fn.Metadata.DeletionTimestamp is not null)
        {
            await urls.RemoveAsync(key, cancellationToken).ConfigureAwait(false); // no owner reference across namespaces
            return ReconcileResult.Done; // children carry owner references: the garbage collector removes them
        }

        var status = Clone(fn.Status);
        var conditions = FunctionConditions.Set.Manage(status, fn.Metadata.Generation, time.GetUtcNow());
        conditions.BeginGeneration();
        status.LatestVersion ??= Names.LatestVersion;
        status.InvokeUrl = Names.InvokeUrl(options.InvokeBaseUrl, fn);
        var state = new FunctionState(fn, status, conditions);

        var failed = await Phases.RunAsync(
            state, phases, conditions, p => events.Record(fn, EventType.Warning, p.Reason, p.Message), options.DependencyRetry, cancellationToken).ConfigureAwait(false);
        conditions.ObserveGeneration();

        // ConfigMap code is not watched: look at it again now and then so edits roll out.
        var next = failed ?? (state.Code.Source == CodeSource.ConfigMap ? ReconcileResult.After(options.DependencyRetry) : ReconcileResult.Done);
        var written = await statusWriter.WriteAsync(fn, status, cancellationToken).ConfigureAwait(false);
        return written ? next : ReconcileResult.Conflict("Function changed while its status was written.");
    }

    // What the CRD schema cannot check. Code problems are CodeReady's; the rest keep the Deployment from being built.
    private Task<Problem?> ValidateAsync(FunctionState state, CancellationToken cancellationToken) =>
        Task.FromResult(FunctionSpecValidator.Validate(state.Function.Spec, options) is { } invalid
            ? Problem.Terminal(
                invalid.Reason == FunctionReasons.InvalidCode ? FunctionConditions.CodeReady : FunctionConditions.DeploymentReady,
                invalid.Reason, invalid.Message)
            : null);

    private static Task<Problem?> MarkCodeReadyAsync(FunctionState state, CancellationToken cancellationToken)
    {
        state.Status.CodeSha256 = state.Code.Sha256;
        state.Conditions.MarkTrue(FunctionConditions.CodeReady, FunctionReasons.CodeResolved, "Code source resolved.");
        return Task.FromResult<Problem?>(null);
    }

    private static Task<Problem?> MapDeploymentAsync(FunctionState state, CancellationToken cancellationToken)
    {
        DeploymentStatusMapper.Apply(state.Conditions, state.Status, state.Deployment);
        return Task.FromResult<Problem?>(null);
    }

    private static FunctionStatus Clone(FunctionStatus? status) =>
        status is null ? new FunctionStatus() : KubernetesJson.Deserialize<FunctionStatus>(KubernetesJson.Serialize(status));
}
