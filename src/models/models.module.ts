import { Module } from '@nestjs/common';
import { EventsModule } from '../common/events/events.module';
import { LifecycleModule } from '../common/lifecycle/lifecycle.module';
import { MlflowModule } from '../mlflow/mlflow.module';
import { ArtifactCache } from './artifact-cache.service';
import { LoadedVersions } from './loaded-versions.service';
import { ModelBindings } from './model-bindings.service';
import { ModelCatalog } from './model-catalog.service';
import { ModelLoader } from './model-loader.service';
import { ModelLineageReader } from './model-lineage.service';
import { ModelReadiness } from './model-readiness.service';
import { ModelRegistry } from './model-registry.service';
import { ModelReloader } from './model-reloader.service';
import { ModelResolver } from './model-resolver.service';
import { Rollouts } from './rollouts/rollouts.service';
import { OnnxAccelerator } from './runtimes/onnx-accelerator/onnx-accelerator.service';
import { OnnxConverter } from './runtimes/onnx-accelerator/onnx-converter';
import { PythonOnnxConverter } from './runtimes/onnx-accelerator/python-onnx-converter';
import { PythonEnvironment } from './runtimes/pyfunc/python-environment.service';
import { VersionVetoes } from './version-vetoes';

@Module({
  imports: [MlflowModule, EventsModule, LifecycleModule],
  providers: [
    ArtifactCache,
    ModelResolver,
    ModelLoader,
    ModelLineageReader,
    OnnxAccelerator,
    { provide: OnnxConverter, useClass: PythonOnnxConverter },
    ModelBindings,
    LoadedVersions,
    ModelReloader,
    ModelRegistry,
    ModelReadiness,
    ModelCatalog,
    PythonEnvironment,
    // Champion and challenger (issue 13 part 2).
    Rollouts,
    VersionVetoes,
  ],
  exports: [ModelRegistry, ModelReadiness, ModelResolver, ModelLoader, ModelCatalog, Rollouts],
})
export class ModelsModule {}
