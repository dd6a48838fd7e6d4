/**
 * Image URIs of SageMaker's built-in XGBoost algorithm. The registry account differs per region;
 * the table is the one SageMaker Python SDK's `image_uris.retrieve('xgboost', region, '1.7-1')`
 * reads (src/sagemaker/image_uri_config/xgboost.json), shared by every version from 0.90-1 on.
 * The ISO partitions are left out: their registries live under other domains.
 */

/** Repository name of the built-in XGBoost image in every region's registry. */
export const XGBOOST_IMAGE_REPOSITORY = 'sagemaker-xgboost';

/** Default built-in XGBoost version: the one whose contract the local emulator implements. */
export const XGBOOST_DEFAULT_VERSION = '1.7-1';

/** Region to the account that hosts the built-in `sagemaker-xgboost` images (versions 0.90-1 and later). */
export const XGBOOST_IMAGE_ACCOUNTS: Readonly<Record<string, string>> = {
  'af-south-1': '510948584623',
  'ap-east-1': '651117190479',
  'ap-northeast-1': '354813040037',
  'ap-northeast-2': '366743142698',
  'ap-northeast-3': '867004704886',
  'ap-south-1': '720646828776',
  'ap-south-2': '628508329040',
  'ap-southeast-1': '121021644041',
  'ap-southeast-2': '783357654285',
  'ap-southeast-3': '951798379941',
  'ap-southeast-4': '106583098589',
  'ca-central-1': '341280168497',
  'ca-west-1': '190319476487',
  'cn-north-1': '450853457545',
  'cn-northwest-1': '451049120500',
  'eu-central-1': '492215442770',
  'eu-central-2': '680994064768',
  'eu-north-1': '662702820516',
  'eu-south-1': '978288397137',
  'eu-south-2': '104374241257',
  'eu-west-1': '141502667606',
  'eu-west-2': '764974769150',
  'eu-west-3': '659782779980',
  'il-central-1': '898809789911',
  'me-central-1': '272398656194',
  'me-south-1': '801668240914',
  'sa-east-1': '737474898029',
  'us-east-1': '683313688378',
  'us-east-2': '257758044811',
  'us-gov-east-1': '237065988967',
  'us-gov-west-1': '414596584902',
  'us-west-1': '746614075791',
  'us-west-2': '246618743249',
};

const VERSION = /^\d+\.\d+-\d+$/;

/** The built-in XGBoost training and inference image URI for a region, e.g. `683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1`. */
export function xgboostImageUri(region: string, version: string = XGBOOST_DEFAULT_VERSION): string {
  const account = XGBOOST_IMAGE_ACCOUNTS[region];
  if (account === undefined) {
    throw new Error(
      `no SageMaker built-in XGBoost image is known for region ${region}; known regions: ${Object.keys(XGBOOST_IMAGE_ACCOUNTS).join(', ')}`,
    );
  }
  if (!VERSION.test(version)) {
    throw new Error(`XGBoost image version must look like 1.7-1, got ${version}`);
  }
  const domain = region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com';
  return `${account}.dkr.ecr.${region}.${domain}/${XGBOOST_IMAGE_REPOSITORY}:${version}`;
}
