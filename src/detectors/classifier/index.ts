export { createClassifierDetector, isClassifierFinding, rescale, CLASSIFIER_RULE_ID, type ClassifierFinding, type ClassifierDetectorOptions } from './detector'
export { ClassifierPolicy, SecondStageConfig, ClassifierRole, DEFAULT_CLASSIFIER_ROLES, type ClassifierPolicyInput } from './config'
export { getModel, getScorer, decodeModel, calibrate, Scorer, type LinearModel, type TextScore } from './model'
export {
  httpsSecondStage,
  workersAiSecondStage,
  refineWithSecondStage,
  SecondStageError,
  SECOND_STAGE_CONTRACT_VERSION,
  SECOND_STAGE_LIMITS,
  SECOND_STAGE_UNAVAILABLE_RULE_ID,
  SecondStageBudget,
  type SecondStage,
  type SecondStageItem,
  type AiRunner,
  type RefineResult,
  type SecondStageOutcome,
} from './second-stage'
