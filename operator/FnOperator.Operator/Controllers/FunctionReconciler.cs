using FnOperator.Api;
using FnOperator.Operator.Resources;
using FnOperator.Operator.Runtime;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Options;

namespace FnOperator.Operator.Controllers;

/// <summary>
/// Function → Deployment of $LATEST. Phases: validate spec → resolve code → resolve layers → apply Deployment →
/// status. The first failing phase ends the reconcile with its condition written; spec problems are terminal,
/// missing dependencies (ConfigMap, Layer) are looked at again after a slow requeue.
/// </summary>
public sealed class FunctionReconciler(
    Informer<Function> functions,
    CodeResolver codeResolver,
    ILayerResolver layerResolver,
    DeploymentApplier applier,
    FunctionStatusWriter statusWriter,
    IOptions<OperatorOptions> optionsAccessor,
    TimeProvider time) : IReconciler
{
    private readonly OperatorOptions options = optionsAccessor.Value;

    public string Kind => Function.KindName;

    public async Task<ReconcileResult> ReconcileAsync(ObjectKey key, CancellationToken cancellationToken)
    {
        var fn = functions.Get(key);
        if (fn is null || fn.Metadata.DeletionTimestamp is not null)
        {
            return ReconcileResult.Done; // children carry owner references: the garbage collector removes them
        }

        var generation = fn.Metadata.Generation;
        var now = time.GetUtcNow();
        var status = Clone(fn.Status);
        status.ObservedGeneration = generation;
        status.LatestVersion = Names.LatestVersion;
        status.InvokeUrl = Names.InvokeUrl(options.InvokeBaseUrl, fn);

        // Phase 1: what the CRD schema cannot check.
        if (FunctionSpecValidator.Validate(fn.Spec, options) is { } invalid)
        {
            if (invalid.Reason == FunctionReasons.InvalidCode)
            {
                status.MarkCodeFailed(invalid.Reason, invalid.Message, generation, now);
            }
            else
            {
                status.MarkNotReady(invalid.Reason, invalid.Message, generation, now);
            }

            return await FinishAsync(fn, status, ReconcileResult.Terminal(invalid.Message), cancellationToken);
        }

        // Phase 2: code.
        var (code, codeProblem) = await codeResolver.ResolveAsync(fn, cancellationToken).ConfigureAwait(false);
        if (codeProblem is not null)
        {
            status.MarkCodeFailed(codeProblem.Reason, codeProblem.Message, generation, now);
            return await FinishAsync(fn, status, ReconcileResult.After(options.DependencyRetry), cancellationToken);
        }

        // Phase 3: layers.
        var (layers, layerProblem) = await layerResolver.ResolveAsync(fn, cancellationToken).ConfigureAwait(false);
        if (layerProblem is not null)
        {
            status.MarkCodeFailed(layerProblem.Reason, layerProblem.Message, generation, now);
            return await FinishAsync(fn, status, ReconcileResult.After(options.DependencyRetry), cancellationToken);
        }

        status.MarkCodeReady(code!.Sha256, generation, now);

        // Phase 4: the Deployment.
        var desired = DeploymentBuilder.Build(fn, code, layers, options);
        var applied = await applier.ApplyAsync(fn, desired, cancellationToken).ConfigureAwait(false);
        if (applied.Problem is not null)
        {
            // A foreign Deployment in the way is not watched: look again slowly, so removing it lets the Function through.
            status.MarkNotReady(applied.Problem.Reason, applied.Problem.Message, generation, now);
            return await FinishAsync(fn, status, ReconcileResult.After(options.DependencyRetry), cancellationToken);
        }

        // Phase 5: status from the Deployment.
        DeploymentStatusMapper.Apply(status, applied.Deployment!, generation, now);

        // ConfigMap code is not watched: look at it again now and then so edits roll out.
        var next = code.Source == CodeSource.ConfigMap ? ReconcileResult.After(options.DependencyRetry) : ReconcileResult.Done;
        return await FinishAsync(fn, status, next, cancellationToken);
    }

    private async Task<ReconcileResult> FinishAsync(Function fn, FunctionStatus status, ReconcileResult result, CancellationToken cancellationToken)
    {
        var written = await statusWriter.WriteAsync(fn, status, cancellationToken).ConfigureAwait(false);
        return written ? result : ReconcileResult.Retry("Function changed while its status was written.");
    }

    private static FunctionStatus Clone(FunctionStatus? status) =>
        status is null ? new FunctionStatus() : KubernetesJson.Deserialize<FunctionStatus>(KubernetesJson.Serialize(status));
}
